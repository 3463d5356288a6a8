import { archiveKey } from '../../sinks/archive/layout';
import { objectMessages, parseArchiveKey, selectArchivedObjects } from './archive-replay';

const minute = (m: number) => Date.UTC(2026, 10, 22, 8, m);
const key = (
  signal: 'logs' | 'traces',
  topic: string,
  partition: number,
  first: number,
  last: number,
  at: number,
) =>
  archiveKey({
    prefix: '',
    signal,
    source: { topic, partition, firstOffset: String(first), lastOffset: String(last) },
    timeMs: at,
  });

describe('parseArchiveKey', () => {
  it('reads back what the archive layout writes, topic names with dashes included', () => {
    expect(parseArchiveKey(key('logs', 'it-x-otel-logs', 2, 10, 19, minute(5) + 1_234))).toEqual({
      key: key('logs', 'it-x-otel-logs', 2, 10, 19, minute(5) + 1_234),
      signal: 'logs',
      topic: 'it-x-otel-logs',
      partition: 2,
      first: 10n,
      last: 19n,
      minuteMs: minute(5),
    });
  });

  it('ignores continuation markers and stray files', () => {
    expect(parseArchiveKey('_stacklens/continuations/logs/otel-logs-0-.json')).toBeUndefined();
    expect(parseArchiveKey('logs/year=2026/month=11/day=22/hour=08/minute=05/x.tmp')).toBeUndefined();
  });
});

describe('selectArchivedObjects', () => {
  const objects = [
    key('logs', 'otel-logs', 0, 20, 29, minute(3)),
    key('logs', 'otel-logs', 0, 0, 9, minute(1)),
    key('logs', 'otel-logs', 0, 10, 19, minute(2)),
    key('logs', 'otel-logs', 1, 0, 4, minute(2)),
    key('traces', 'otel-traces', 0, 0, 4, minute(9)),
  ].map((k) => parseArchiveKey(k)!);

  it('groups by source partition, in offset order', () => {
    const selected = selectArchivedObjects(objects, undefined, undefined);
    expect([...selected.keys()].sort()).toEqual([
      'logs/otel-logs/0',
      'logs/otel-logs/1',
      'traces/otel-traces/0',
    ]);
    expect(selected.get('logs/otel-logs/0')!.map((o) => o.first)).toEqual([0n, 10n, 20n]);
  });

  it('keeps the objects whose minute is in [minute of from, to)', () => {
    const selected = selectArchivedObjects(objects, minute(2) + 30_000, minute(3));
    expect(selected.get('logs/otel-logs/0')!.map((o) => o.first)).toEqual([10n]);
    expect(selected.get('logs/otel-logs/1')!.map((o) => o.first)).toEqual([0n]);
    expect(selected.has('traces/otel-traces/0')).toBe(false);
  });
});

describe('objectMessages', () => {
  it('produces one OTLP/JSON request per resource entry, keyed by object and index, to the given partition', () => {
    const object = parseArchiveKey(key('traces', 'otel-traces', 1, 5, 6, minute(0)))!;
    const body = Buffer.from(
      JSON.stringify({ resourceSpans: [{ scopeSpans: [] }, { scopeSpans: [{ spans: [] }] }] }),
    );
    const messages = objectMessages(object, body, 1);
    expect(messages.map((m) => m.key)).toEqual(['otel-traces-1-5-6#0', 'otel-traces-1-5-6#1']);
    expect(JSON.parse(String(messages[1]!.value))).toEqual({
      resourceSpans: [{ scopeSpans: [{ spans: [] }] }],
    });
    expect(messages[0]!.partition).toBe(1);
    expect(messages[0]!.headers!['content-type']).toBe('application/json');
  });
});
