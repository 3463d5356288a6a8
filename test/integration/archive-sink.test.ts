import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  LOCAL_S3_ACCESS_KEY_ID,
  LOCAL_S3_BUCKET,
  LOCAL_S3_SECRET_ACCESS_KEY,
  localS3Endpoint,
} from '../../infra/services/s3';
import { stackSettingsFromEnv } from '../../infra/stack-settings';
import { archivedJson, parseArchiveKey } from '../../app/replay/archive-replay';
import {
  ArchiveSink,
  UnrangedArchiveRecordError,
  type OtlpJsonRequest,
} from '../../sinks/archive/archive-sink';
import { DEFAULT_ARCHIVE_FORMAT, type ArchiveFormat } from '../../sinks/archive/layout';
import { FileSystemArchiveStore, S3ArchiveStore, type ArchiveStore } from '../../sinks/archive/store';
import type { StreamRecord } from '../../topology/processor/record';

// The topology archive sink, in particular the crash scenarios of ../../sinks/replay-plan.ts: a
// "crash" is a new sink instance (nothing in memory) that gets the same range start again.
const TOPIC = 'otel-logs';
/** Message n's Kafka timestamp: 20 s apart, so ranges span minute folders. */
const timestampOf = (offset: number) => Date.UTC(2026, 10, 22, 8, 0, 0) + offset * 20_000;

const stores: [string, () => { store: ArchiveStore; cleanup: () => void }][] = [
  [
    'the local S3 (SeaweedFS)',
    () => {
      const store = new S3ArchiveStore({
        endpoint: localS3Endpoint(stackSettingsFromEnv()),
        bucket: LOCAL_S3_BUCKET,
        region: 'us-east-1',
        credentials: { accessKeyId: LOCAL_S3_ACCESS_KEY_ID, secretAccessKey: LOCAL_S3_SECRET_ACCESS_KEY },
      });
      return { store, cleanup: () => store.close() };
    },
  ],
  [
    'a directory',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'stacklens-archive-sink-'));
      return {
        store: new FileSystemArchiveStore(dir),
        cleanup: () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  ],
];

describe.each(stores)('archive topology sink on %s', (_where, open) => {
  let store: ArchiveStore;
  let cleanup: () => void;
  /** Each test writes under its own prefix, so a long-lived developer stack does not mix runs. */
  let prefix: string;

  beforeAll(() => ({ store, cleanup } = open()));
  afterAll(() => cleanup());
  beforeEach(() => {
    prefix = `archive-sink-test/${randomUUID()}/`;
  });

  const newSink = (format: ArchiveFormat = DEFAULT_ARCHIVE_FORMAT) =>
    new ArchiveSink<null>({ store, signal: 'logs', prefix, format });

  const request = (offset: number): OtlpJsonRequest => ({
    resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: `m${offset}` } }] }] }],
  });

  const record = (offset: number, partition = 0): StreamRecord<null, OtlpJsonRequest> => ({
    key: null,
    value: request(offset),
    timestamp: timestampOf(offset),
    headers: {},
    topic: TOPIC,
    partition,
    offset: String(offset),
  });

  /** Processes offsets first..last into the sink and flushes their range, as one runtime run does. */
  async function run(sink: ArchiveSink<null>, first: number, last: number, partition = 0): Promise<void> {
    for (let o = first; o <= last; o++)
      sink.write(record(o, partition), { topic: TOPIC, partition, offset: String(o) });
    await sink.flush([{ topic: TOPIC, partition, firstOffset: String(first), lastOffset: String(last) }]);
  }

  /** Every archived message body (across all data objects) with the key of its object. */
  async function archived(): Promise<{ key: string; bodies: string[] }[]> {
    const keys = (await store.list(`${prefix}year=`)).sort();
    const out: { key: string; bodies: string[] }[] = [];
    for (const key of keys) {
      // Read by its extension, as the awss3 receiver and the archive replay do.
      const object = parseArchiveKey(key.slice(prefix.length))!;
      const body = await archivedJson(object, (await store.get(key)) as Buffer);
      const document = JSON.parse(body.toString('utf8')) as {
        resourceLogs: { scopeLogs: { logRecords: { body: { stringValue: string } }[] }[] }[];
      };
      out.push({
        key: key.slice(prefix.length),
        bodies: document.resourceLogs.map((r) => r.scopeLogs[0]!.logRecords[0]!.body.stringValue),
      });
    }
    return out;
  }

  const bodies = (first: number, last: number) =>
    Array.from({ length: last - first + 1 }, (_, i) => `m${first + i}`);

  const allBodies = async () => (await archived()).flatMap((o) => o.bodies).sort();

  it('writes a range as one object in the minute of its first message', async () => {
    await run(newSink(), 0, 4);
    expect(await archived()).toEqual([
      {
        key: 'year=2026/month=11/day=22/hour=08/minute=00/logs_otel-logs-0-0-4.json.gz',
        bodies: bodies(0, 4),
      },
    ]);
  });

  it('after a crash, a longer replay writes only the new offsets, as a new object', async () => {
    await run(newSink(), 0, 9);
    await run(newSink(), 0, 14);
    expect(await archived()).toEqual([
      {
        key: 'year=2026/month=11/day=22/hour=08/minute=00/logs_otel-logs-0-0-9.json.gz',
        bodies: bodies(0, 9),
      },
      // message 10 is at 08:03:20
      {
        key: 'year=2026/month=11/day=22/hour=08/minute=03/logs_otel-logs-0-10-14.json.gz',
        bodies: bodies(10, 14),
      },
    ]);
  });

  it('writes nothing for a shorter replay, and continues past the original object after its commit', async () => {
    await run(newSink(), 0, 9);
    await run(newSink(), 0, 4); // crash before the commit of 10: replayed, shorter
    expect(await allBodies()).toEqual(bodies(0, 9).sort());
    await run(newSink(), 5, 12); // 5 was committed, then another crash
    expect(await allBodies()).toEqual(bodies(0, 12).sort());
    expect((await archived()).map((o) => o.key.split('/').pop())).toEqual([
      'logs_otel-logs-0-0-9.json.gz',
      'logs_otel-logs-0-10-12.json.gz',
    ]);
    // The marker lives outside the archive's prefix.
    expect(await store.list(`_stacklens/continuations/${prefix}logs/`)).toEqual([
      `_stacklens/continuations/${prefix}logs/otel-logs-0-5.json`,
    ]);
  });

  it('after a change of ARCHIVE_MARSHALER and ARCHIVE_COMPRESSION, a replay still writes only the new offsets', async () => {
    await run(newSink(), 0, 9);
    await run(newSink({ marshaler: 'otlp_proto', compression: 'none' }), 0, 14);
    expect(await archived()).toEqual([
      {
        key: 'year=2026/month=11/day=22/hour=08/minute=00/logs_otel-logs-0-0-9.json.gz',
        bodies: bodies(0, 9),
      },
      {
        key: 'year=2026/month=11/day=22/hour=08/minute=03/logs_otel-logs-0-10-14.binpb',
        bodies: bodies(10, 14),
      },
    ]);
  });

  it('finds the object of a range whose first offsets reached no sink, whichever commit they fell in', async () => {
    // First run: offset 4 (a dead letter, or a transaction marker) was committed on its own, so the
    // object of offset 5 starts at 5. A replay commits 4 and 5 together: its range starts at 4.
    await run(newSink(), 0, 3);
    await run(newSink(), 5, 6);
    const replay = newSink();
    for (const o of [5, 6]) replay.write(record(o), { topic: TOPIC, partition: 0, offset: String(o) });
    await replay.flush([{ topic: TOPIC, partition: 0, firstOffset: '4', lastOffset: '6' }]);
    expect((await archived()).map((o) => o.key.split('/').pop())).toEqual([
      'logs_otel-logs-0-0-3.json.gz',
      'logs_otel-logs-0-5-6.json.gz',
    ]);
  });

  it('handles repeated short replays and replays within one instance', async () => {
    const sink = newSink();
    await run(sink, 0, 9);
    await run(newSink(), 0, 2);
    await run(newSink(), 3, 5);
    await run(sink, 6, 7); // the first instance again, after the partition came back
    await run(sink, 8, 15);
    await run(sink, 8, 16); // a failed commit: replayed within the instance
    await run(sink, 17, 17);
    expect(await allBodies()).toEqual(bodies(0, 17).sort());
  });

  it('keeps partitions apart', async () => {
    const sink = newSink();
    for (const partition of [1, 11]) {
      for (let o = 0; o <= 2; o++)
        sink.write(record(o, partition), { topic: TOPIC, partition, offset: String(o) });
    }
    await sink.flush([
      { topic: TOPIC, partition: 1, firstOffset: '0', lastOffset: '2' },
      { topic: TOPIC, partition: 11, firstOffset: '0', lastOffset: '2' },
    ]);
    await run(newSink(), 0, 4, 1);
    expect((await archived()).map((o) => [o.key.split('/').pop(), o.bodies])).toEqual([
      ['logs_otel-logs-1-0-2.json.gz', bodies(0, 2)],
      ['logs_otel-logs-11-0-2.json.gz', bodies(0, 2)],
      ['logs_otel-logs-1-3-4.json.gz', bodies(3, 4)], // minute=01: message 3 is at 08:01:00
    ]);
  });

  it('refuses records outside the flushed ranges, and forgets buffered records on discard', async () => {
    const sink = newSink();
    sink.write(record(3), { topic: TOPIC, partition: 0, offset: '3' });
    expect(sink.bufferedItems).toBe(1);
    await expect(sink.flush([])).rejects.toBeInstanceOf(UnrangedArchiveRecordError);
    sink.discard();
    expect(sink.bufferedItems).toBe(0);
    await sink.flush([{ topic: TOPIC, partition: 0, firstOffset: '3', lastOffset: '3' }]);
    expect(await archived()).toEqual([]);
  });
});
