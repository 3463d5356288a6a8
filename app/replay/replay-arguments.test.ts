import {
  parsePosition,
  parseReplayRequest,
  parseTopics,
  ReplayArgumentError,
  replayApplicationId,
  replayId,
} from './replay-arguments';

function errorOf(f: () => unknown): ReplayArgumentError {
  try {
    f();
  } catch (err) {
    if (err instanceof ReplayArgumentError) return err;
    throw err;
  }
  throw new Error('expected a ReplayArgumentError');
}

describe('parsePosition', () => {
  it('reads an offset as a bigint, for every partition', () => {
    expect(parsePosition('--from', '0')).toEqual({ offset: 0n });
    expect(parsePosition('--from', '9223372036854775807')).toEqual({ offset: 9223372036854775807n });
  });

  it('reads an RFC 3339 time in UTC or with an offset, with or without fraction', () => {
    expect(parsePosition('--from', '2026-11-22T08:00:00Z')).toEqual({
      timestampMs: Date.UTC(2026, 10, 22, 8),
    });
    expect(parsePosition('--to', '2026-11-22T09:30:00.250+01:30')).toEqual({
      timestampMs: Date.UTC(2026, 10, 22, 8, 0, 0, 250),
    });
  });

  it('rejects a time without zone, a negative or fractional offset, and garbage, naming the option', () => {
    for (const bad of ['2026-11-22T08:00:00', '-1', '1.5', '01', 'yesterday', '']) {
      expect(errorOf(() => parsePosition('--to', bad)).message).toMatch(/^--to /);
    }
  });

  it('rejects an impossible date', () => {
    expect(errorOf(() => parsePosition('--from', '2026-13-45T08:00:00Z')).message).toMatch(/^--from /);
  });
});

describe('parseTopics', () => {
  it('maps the input topics to signals, in a fixed order, without duplicates', () => {
    expect(parseTopics('--topic', 'otel-traces, otel-logs,otel-traces')).toEqual(['logs', 'traces']);
    expect(parseTopics('--topic', 'otel-logs')).toEqual(['logs']);
  });

  it('rejects other topics and an empty list, naming the option', () => {
    expect(errorOf(() => parseTopics('--topic', 'stacklens-alerts')).message).toMatch(
      /^--topic "stacklens-alerts"/,
    );
    expect(errorOf(() => parseTopics('--topic', ' , ')).message).toMatch(/^--topic/);
  });
});

describe('parseReplayRequest', () => {
  it('needs --from for a topic replay', () => {
    expect(errorOf(() => parseReplayRequest({ topic: 'otel-logs' })).message).toMatch(/^--from: required/);
  });

  it('refuses an empty range of the same kind', () => {
    expect(errorOf(() => parseReplayRequest({ from: '10', to: '10' })).message).toMatch(
      /^--to: must be after --from/,
    );
    expect(
      errorOf(() => parseReplayRequest({ from: '2026-11-22T08:00:00Z', to: '2026-11-22T07:00:00Z' })).message,
    ).toMatch(/^--to/);
  });

  it('allows a time start with an offset end (each is resolved per partition)', () => {
    const request = parseReplayRequest({ from: '2026-11-22T08:00:00Z', to: '500' });
    expect(request.from).toEqual({ timestampMs: Date.UTC(2026, 10, 22, 8) });
    expect(request.to).toEqual({ offset: 500n });
    expect(request.signals).toEqual(['logs', 'traces']);
  });

  it('replays the archive by time only, and --to-topics only from the archive', () => {
    expect(errorOf(() => parseReplayRequest({ archive: true, from: '5' })).message).toMatch(
      /^--from: the archive/,
    );
    expect(errorOf(() => parseReplayRequest({ from: '0', toTopics: true })).message).toMatch(/^--to-topics/);
    expect(parseReplayRequest({ archive: true, toTopics: true })).toMatchObject({
      archive: true,
      toTopics: true,
    });
  });
});

describe('replayId', () => {
  it('is the same for the same arguments however written, and differs when the range does', () => {
    const a = replayId(parseReplayRequest({ topic: 'otel-logs,otel-traces', from: '2026-11-22T08:00:00Z' }));
    const b = replayId(
      parseReplayRequest({ topic: 'otel-traces,otel-logs', from: '2026-11-22T09:00:00+01:00' }),
    );
    const c = replayId(parseReplayRequest({ topic: 'otel-logs', from: '2026-11-22T08:00:00Z' }));
    const d = replayId(
      parseReplayRequest({ topic: 'otel-logs,otel-traces', from: '2026-11-22T08:00:00Z', alerts: true }),
    );
    expect(a).toBe(b);
    expect(new Set([a, c, d]).size).toBe(3);
    expect(a).toMatch(/^[0-9a-f]{12}$/);
    expect(replayApplicationId('stacklens', a)).toBe(`stacklens-replay-${a}`);
  });
});
