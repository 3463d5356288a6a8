import { archiveKey, DEFAULT_ARCHIVE_FORMAT } from '../../sinks/archive/layout';
import { objectMessages, parseArchiveKey, selectArchivedObjects, type ReplayMessage } from './archive-replay';

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
    format: DEFAULT_ARCHIVE_FORMAT,
  });

describe('parseArchiveKey', () => {
  it('reads back what the archive layout writes, topic names with dashes included', () => {
    expect(parseArchiveKey(key('logs', 'it-x-otel-logs', 2, 10, 19, minute(5) + 1_234))).toEqual({
      key: key('logs', 'it-x-otel-logs', 2, 10, 19, minute(5) + 1_234),
      name: 'it-x-otel-logs-2-10-19',
      format: DEFAULT_ARCHIVE_FORMAT,
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
    expect(
      parseArchiveKey('year=2026/month=11/day=22/hour=08/minute=05/logs_x-0-1-2.json.tmp'),
    ).toBeUndefined();
    expect(
      parseArchiveKey('year=2026/month=11/day=22/hour=08/minute=05/metrics_x-0-1-2.json'),
    ).toBeUndefined();
  });

  it('reads the marshaler and compression from the extension, as the awss3 receiver does', () => {
    const folder = 'year=2026/month=11/day=22/hour=08/minute=05';
    expect(parseArchiveKey(`${folder}/traces_t-0-1-2.binpb`)?.format).toEqual({
      marshaler: 'otlp_proto',
      compression: 'none',
    });
    expect(parseArchiveKey(`${folder}/traces_t-0-1-2.binpb.gz`)?.format).toEqual({
      marshaler: 'otlp_proto',
      compression: 'gzip',
    });
    expect(parseArchiveKey(`${folder}/logs_t-0-1-2.json`)?.format).toEqual({
      marshaler: 'otlp_json',
      compression: 'none',
    });
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
    const { messages: produced, deadLetters } = objectMessages(object, body, 1, 1_000_000);
    const messages = produced.map((m) => m.message);
    expect(deadLetters).toEqual([]);
    expect(messages.map((m) => m.key)).toEqual(['otel-traces-1-5-6#0', 'otel-traces-1-5-6#1']);
    expect(JSON.parse(String(messages[1]!.value))).toEqual({
      resourceSpans: [{ scopeSpans: [{ spans: [] }] }],
    });
    expect(messages[0]!.partition).toBe(1);
    expect(messages[0]!.headers!['content-type']).toBe('application/json');
  });
});

describe('objectMessages over the message limit', () => {
  const object = parseArchiveKey(key('logs', 'otel-logs', 0, 0, 9, minute(0)))!;
  const log = (i: number, bytes = 100) => ({
    timeUnixNano: String(i),
    body: { stringValue: 'x'.repeat(bytes) },
  });
  const resource = (name: string) => ({
    attributes: [{ key: 'service.name', value: { stringValue: name } }],
  });
  const request = {
    resourceLogs: [
      { resource: resource('small'), scopeLogs: [{ scope: { name: 's' }, logRecords: [log(0)] }] },
      {
        resource: resource('big'),
        scopeLogs: [
          { scope: { name: 'a' }, logRecords: [log(1), log(2)] },
          {
            scope: { name: 'b' },
            logRecords: [log(3), log(4), log(5, 5_000), log(6), log(7), log(8), log(9)],
          },
        ],
      },
    ],
  };
  const limit = 1_200;
  const { messages, deadLetters } = objectMessages(object, Buffer.from(JSON.stringify(request)), 0, limit);
  const bodyOf = (m: ReplayMessage) =>
    JSON.parse(String(m.message.value)) as { resourceLogs: typeof request.resourceLogs };

  it('splits a resource entry by scope, then by records, each message within the limit', () => {
    expect(messages.map((m) => m.message.key)).toEqual([
      'otel-logs-0-0-9#0',
      'otel-logs-0-0-9#1.0',
      'otel-logs-0-0-9#1.1.0',
      'otel-logs-0-0-9#1.1.3',
    ]);
    for (const m of messages) {
      expect(m.bytes).toBeLessThanOrEqual(limit);
      expect(Buffer.byteLength(String(m.message.value))).toBeLessThan(m.bytes);
    }
  });

  it('keeps every record that fits once, in order, with its resource and scope', () => {
    const records = messages.flatMap((m) =>
      bodyOf(m).resourceLogs.flatMap((r) =>
        r.scopeLogs.flatMap((s) =>
          s.logRecords.map(
            (l) => `${r.resource.attributes[0]!.value.stringValue}/${s.scope.name}/${l.timeUnixNano}`,
          ),
        ),
      ),
    );
    expect(records).toEqual([
      'small/s/0',
      'big/a/1',
      'big/a/2',
      'big/b/3',
      'big/b/4',
      'big/b/6',
      'big/b/7',
      'big/b/8',
      'big/b/9',
    ]);
  });

  it('returns a record too large even alone as a dead letter naming where it is', () => {
    expect(deadLetters).toEqual([{ part: { resource: 1, scope: 1, record: 2 }, bytes: expect.any(Number) }]);
    expect(deadLetters[0]!.bytes).toBeGreaterThan(limit);
  });
});
