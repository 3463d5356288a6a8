import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Kafka, logLevel, type Admin, type Consumer } from 'kafkajs';
import { replayArchive } from '../../app/replay/archive-replay';
import { parseReplayRequest, replayApplicationId, replayId } from '../../app/replay/replay-arguments';
import { stackLensTopics } from '../../app/topics';
import { createLogger } from '../../common/logger';
import { loadConfig } from '../../config/config';
import { withLocalStackDefaults } from '../../infra/local-stack-env';
import { stackSettingsFromEnv } from '../../infra/stack-settings';
import { archiveKey, DEFAULT_ARCHIVE_FORMAT } from '../../sinks/archive/layout';
import { createArchiveStore } from '../../sinks/archive/store';
import { HEADER } from '../../topology';
import { waitFor } from '../support/wait-for';

// Issue 9: `stacklens replay --archive` stopped with KafkaJS's MESSAGE_TOO_LARGE stack trace at an
// archived request whose OTLP/JSON is over the broker's message limit. Here an archive object holds
// a resource entry of about 1.5 MB (one scope of 1 500 records, another with a 1.1 MB record between
// two small ones): the replay must produce it in messages under the limit, keep every record but
// the one too large even alone, dead-letter that one by reference with its reason, and finish.

const run = randomUUID().slice(0, 8);
const appId = `it-archive-big-${run}`;
const dir = mkdtempSync(join(tmpdir(), `stacklens-${appId}-`));
const env = withLocalStackDefaults(
  { TOPIC_PREFIX: `${appId}-`, APPLICATION_ID: appId, ARCHIVE_DIR: join(dir, 'archive'), LOG_LEVEL: 'error' },
  stackSettingsFromEnv(),
);
// The file-system archive: the test writes the object itself.
delete env.S3_ENDPOINT;
delete env.AWS_ACCESS_KEY_ID;
delete env.AWS_SECRET_ACCESS_KEY;
const config = loadConfig(env);
const topics = stackLensTopics(config);
const logger = createLogger({ level: config.log.level, format: 'json', name: appId });
const kafka = new Kafka({
  clientId: `${appId}-test`,
  brokers: config.kafka.brokers,
  logLevel: logLevel.NOTHING,
});

const now = Date.now();
const log = (i: number, bodyBytes: number) => ({
  timeUnixNano: String(BigInt(now) * 1_000_000n + BigInt(i)),
  body: { stringValue: 'x'.repeat(bodyBytes) },
});
const service = (name: string) => ({ attributes: [{ key: 'service.name', value: { stringValue: name } }] });
const HUGE = 1_500_001;
const request = {
  resourceLogs: [
    {
      resource: service('small'),
      scopeLogs: [{ scope: { name: 's' }, logRecords: [log(0, 10), log(1, 10)] }],
    },
    {
      resource: service('big'),
      scopeLogs: [
        { scope: { name: 'a' }, logRecords: Array.from({ length: 1_500 }, (_, i) => log(100 + i, 1_000)) },
        { scope: { name: 'b' }, logRecords: [log(2, 10), log(HUGE, 1_100_000), log(3, 10)] },
      ],
    },
  ],
};

jest.setTimeout(180_000);

describe('archive replay of a request over the message limit', () => {
  let admin: Admin;
  const consumers: Consumer[] = [];
  const produced: { key: string; value: Buffer }[] = [];
  const deadLetters: { value: Buffer | null; headers: Record<string, string> }[] = [];
  const applicationId = replayApplicationId(
    config.kafka.applicationId,
    replayId(parseReplayRequest({ archive: true, toTopics: true, topic: 'otel-logs' })),
  );
  let completed: boolean;

  async function collect(
    topic: string,
    into: (message: { key: Buffer | null; value: Buffer | null; headers: Record<string, string> }) => void,
  ) {
    const consumer = kafka.consumer({ groupId: `${appId}-test-${consumers.length}`, maxWaitTimeInMs: 500 });
    consumers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
        into({ key: message.key, value: message.value, headers });
      },
    });
  }

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: topics.logs, numPartitions: 1 }] });
    const store = createArchiveStore({ dir: config.archive.dir });
    const key = archiveKey({
      prefix: '',
      signal: 'logs',
      source: { topic: topics.logs, partition: 0, firstOffset: '0', lastOffset: '9' },
      timeMs: now,
      format: DEFAULT_ARCHIVE_FORMAT,
    });
    await store.put(key, gzipSync(JSON.stringify(request)), {
      contentType: 'application/json',
      contentEncoding: 'gzip',
    });
    store.close();
    completed = await replayArchive({
      config,
      logger,
      request: parseReplayRequest({ archive: true, toTopics: true, topic: 'otel-logs' }),
      applicationId,
      stateDir: join(dir, 'replay-state'),
      signal: new AbortController().signal,
      output: process.stderr,
    });
    await collect(topics.logs, (m) => produced.push({ key: String(m.key), value: m.value! }));
    await collect(`${applicationId}-dlq`, (m) => deadLetters.push({ value: m.value, headers: m.headers }));
  }, 180_000);

  afterAll(async () => {
    await Promise.all(consumers.map((c) => c.disconnect()));
    const ours = (await admin.listTopics()).filter((t) => t.startsWith(appId));
    if (ours.length > 0) await admin.deleteTopics({ topics: ours });
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(appId));
    if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined);
    await admin.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('finishes instead of stopping on MESSAGE_TOO_LARGE', () => {
    expect(completed).toBe(true);
  });

  it('produces every record that fits, in messages under the limit, split by resource, scope and records', async () => {
    const expected = request.resourceLogs
      .flatMap((r) => r.scopeLogs.flatMap((s) => s.logRecords.map((l) => l.timeUnixNano)))
      .filter((t) => t !== log(HUGE, 0).timeUnixNano);
    await waitFor('the replayed messages', () => produced.length >= 3, 60_000);
    await waitFor('every record that fits', () => timesOf(produced).length >= expected.length, 60_000);
    expect(timesOf(produced).sort()).toEqual(expected.sort());
    for (const m of produced) expect(m.value.length).toBeLessThan(config.ingest.maxMessageBytes);
    const keys = produced.map((m) => m.key.slice(m.key.indexOf('#')));
    expect(keys[0]).toBe('#0');
    expect(keys.filter((k) => k.startsWith('#1.0.')).length).toBeGreaterThan(1);
    expect(keys.filter((k) => k.startsWith('#1.1.'))).toEqual(['#1.1.0', '#1.1.2']);
  });

  it('dead-letters the record too large even alone by reference, with the reason', async () => {
    await waitFor('the dead letter', () => deadLetters.length >= 1, 60_000);
    expect(deadLetters).toHaveLength(1);
    const [letter] = deadLetters;
    expect(letter!.headers[HEADER.errorType]).toBe('MessageTooLarge');
    expect(letter!.headers[HEADER.error]).toMatch(
      /resource 1, scope 1, record 1 of archive object .* over the \d+-byte message limit/,
    );
    expect(JSON.parse(String(letter!.value))).toMatchObject({
      signal: 'logs',
      resource: 1,
      scope: 1,
      record: 1,
    });
    expect(letter!.value!.length).toBeLessThan(1_000);
  });
});

function timesOf(messages: readonly { value: Buffer }[]): string[] {
  return messages.flatMap((m) =>
    (JSON.parse(m.value.toString('utf8')) as typeof request).resourceLogs.flatMap((r) =>
      r.scopeLogs.flatMap((s) => s.logRecords.map((l) => l.timeUnixNano)),
    ),
  );
}
