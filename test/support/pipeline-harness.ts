import { randomUUID } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Kafka, logLevel, type Admin, type Consumer, type IHeaders, type Producer } from 'kafkajs';
import { clickHouseOptions } from '../../app/clickhouse-options';
import { startStackLens, type RunningStackLens } from '../../app/stacklens-app';
import { stackLensTopics } from '../../app/topics';
import { createLogger, type Logger } from '../../common/logger';
import { loadConfig, type StackLensConfig } from '../../config/config';
import { withLocalStackDefaults } from '../../infra/local-stack-env';
import { localS3ClientConfig } from '../../infra/services/s3';
import { stackSettingsFromEnv } from '../../infra/stack-settings';
import type { StackLensTopics } from '../../app/pipeline/stacklens-topology';
import { correlationCheckIntervalMs } from '../../app/pipeline/trace-correlator';
import { createClickHouse } from '../../sinks/clickhouse/client';
import { HEADER } from '../../topology';
import { waitFor as waitUntil } from './wait-for';

/**
 * A StackLens started through the composition root on the local stack, under its own TOPIC_PREFIX,
 * APPLICATION_ID and ClickHouse database on the stack's ClickHouse server, with what the
 * hostile-input tests need around it: a producer that knows each message's offset, the DLQ as
 * read so far, ClickHouse queries, and a check that the pipeline and the archive have committed
 * everything produced. `stop` removes everything the run created.
 */
export interface PipelineHarness {
  readonly appId: string;
  readonly config: StackLensConfig;
  readonly topics: StackLensTopics;
  readonly logger: Logger;
  readonly app: RunningStackLens;
  /** The pipeline's dead letters read so far (`<appId>-dlq`). */
  readonly deadLetters: DeadLetter[];
  /** Produces to `topic`, each message to its partition; resolves with each one's offset. */
  produce(topic: string, messages: readonly OutgoingMessage[]): Promise<Produced[]>;
  query<T>(sql: string): Promise<T[]>;
  /** Polls until `condition` holds; fails at once if the pipeline has stopped. */
  waitFor(what: string, condition: () => Promise<boolean> | boolean, timeoutMs?: number): Promise<void>;
  /** The archive objects this run wrote so far (gzip OTLP/JSON), by key. */
  archivedDocuments(): Promise<Map<string, unknown>>;
  /**
   * Whether the pipeline's, the ClickHouse application's and the archive's groups have committed the
   * end of every input partition: then every input record's rows are in ClickHouse and archived.
   */
  caughtUp(): Promise<boolean>;
  stop(): Promise<void>;
}

export interface OutgoingMessage {
  value: Buffer;
  partition: number;
  headers?: IHeaders;
}

export interface Produced extends OutgoingMessage {
  topic: string;
  offset: string;
}

export interface DeadLetter {
  value: Buffer | null;
  headers: Record<string, string>;
}

/** The dead letters that name `source` (topic, partition, offset) as theirs. */
export function deadLettersOf(
  deadLetters: readonly DeadLetter[],
  source: { topic: string; partition: number; offset: string },
): DeadLetter[] {
  return deadLetters.filter(
    (d) =>
      d.headers[HEADER.sourceTopic] === source.topic &&
      d.headers[HEADER.sourcePartition] === String(source.partition) &&
      d.headers[HEADER.sourceOffset] === source.offset,
  );
}

/** Largest produce request sent at once (kept under the broker's default 1 MiB message limit). */
const SEND_BYTES = 800 * 1024;

/**
 * How long after the last record it read the trace correlator may still emit: its wall-clock rule
 * (trace-correlator.ts) closes the last traces once stream time has stood still for window + grace,
 * seen at checks every correlationCheckIntervalMs, the first of which starts the count.
 */
export function correlatorQuietMs(config: StackLensConfig): number {
  const { windowSeconds, graceSeconds } = config.correlation;
  return (windowSeconds + graceSeconds) * 1_000 + 2 * correlationCheckIntervalMs(windowSeconds * 1_000);
}

export async function startPipelineHarness(
  name: string,
  env: Record<string, string> = {},
): Promise<PipelineHarness> {
  const appId = `${name}-${randomUUID().slice(0, 8)}`;
  const settings = stackSettingsFromEnv();
  const loaded = loadConfig(
    withLocalStackDefaults(
      {
        TOPIC_PREFIX: `${appId}-`,
        APPLICATION_ID: appId,
        // The stack's ClickHouse server, as `npm start` uses it, in a database of this run's own.
        CLICKHOUSE_DATABASE: `it_${appId.replace(/-/g, '_')}`,
        CORR_WINDOW_SECONDS: '2',
        CORR_GRACE_SECONDS: '1',
        ARCHIVE_FLUSH_SECONDS: '1',
        LOG_LEVEL: 'error',
        ...env,
      },
      settings,
    ),
  );
  const config: StackLensConfig = { ...loaded, http: { ...loaded.http, port: 0 } };
  const topics = stackLensTopics(config);
  const logger = createLogger({ level: config.log.level, format: 'json', name: appId });
  const kafka = new Kafka({
    clientId: `${appId}-test`,
    brokers: config.kafka.brokers,
    logLevel: logLevel.NOTHING,
  });
  const s3 = new S3Client(localS3ClientConfig(settings));
  const bucket = config.archive.s3?.bucket ?? '';
  const admin: Admin = kafka.admin();
  await admin.connect();

  let failure: unknown;
  const app = await startStackLens({ config, logger, instanceId: `${appId}-a` });
  app.done.catch((err: unknown) => (failure = err));
  // Idempotent with one request in flight: a retried send cannot reorder or duplicate, so a
  // partition's messages of one send get consecutive offsets from the returned base offset.
  const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const deadLetters: DeadLetter[] = [];
  const dlqConsumer: Consumer = kafka.consumer({ groupId: `${appId}-test-dlq`, maxWaitTimeInMs: 500 });
  await dlqConsumer.connect();
  await dlqConsumer.subscribe({ topic: `${appId}-dlq`, fromBeginning: true });
  await dlqConsumer.run({
    eachMessage: async ({ message }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
      deadLetters.push({ value: message.value, headers });
    },
  });

  const waitFor: PipelineHarness['waitFor'] = (what, condition, timeoutMs = 180_000) =>
    waitUntil(
      what,
      async () => {
        if (failure !== undefined) throw new Error(`the pipeline failed: ${String(failure)}`);
        return condition();
      },
      timeoutMs,
      250,
    );

  async function produce(topic: string, messages: readonly OutgoingMessage[]): Promise<Produced[]> {
    const out: Produced[] = [];
    let batch: OutgoingMessage[] = [];
    let bytes = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      const partition = batch[0]!.partition;
      const [meta] = await producer.send({
        topic,
        acks: -1,
        messages: batch.map((m) => ({ value: m.value, partition, headers: m.headers })),
      });
      batch.forEach((m, i) =>
        out.push({ ...m, topic, offset: String(BigInt(meta!.baseOffset!) + BigInt(i)) }),
      );
      batch = [];
      bytes = 0;
    };
    // In the given order, one partition per send, so that each send's offsets are consecutive.
    for (const m of messages) {
      if (batch.length > 0 && (batch[0]!.partition !== m.partition || bytes + m.value.length > SEND_BYTES))
        await flush();
      batch.push(m);
      bytes += m.value.length;
    }
    await flush();
    return out;
  }

  async function groupCaughtUp(groupId: string): Promise<boolean> {
    for (const topic of [topics.logs, topics.traces]) {
      const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, p.high]));
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      for (const p of committed?.partitions ?? []) {
        const end = ends.get(p.partition) ?? '0';
        if (p.offset === '-1' ? end !== '0' : p.offset !== end) return false;
      }
    }
    return true;
  }

  async function archiveKeys(): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
      for (const o of page.Contents ?? []) {
        if (
          o.Key !== undefined &&
          (o.Key.includes(`/logs_${topics.logs}-`) || o.Key.includes(`/traces_${topics.traces}-`))
        )
          keys.push(o.Key);
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return keys;
  }

  async function archivedDocuments(): Promise<Map<string, unknown>> {
    const documents = new Map<string, unknown>();
    for (const key of await archiveKeys()) {
      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const bytes = Buffer.from(await object.Body!.transformToByteArray());
      documents.set(key, JSON.parse((key.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8')));
    }
    return documents;
  }

  async function stop(): Promise<void> {
    const steps: [string, () => Promise<unknown>][] = [
      ['app', async () => app.stop()],
      ['consumer', async () => dlqConsumer.disconnect()],
      ['producer', async () => producer.disconnect()],
      [
        'groups',
        async () => {
          const groups = (await admin.listGroups()).groups
            .map((g) => g.groupId)
            .filter((g) => g.startsWith(appId));
          if (groups.length > 0) await admin.deleteGroups(groups);
        },
      ],
      [
        'topics',
        async () => {
          const ours = (await admin.listTopics()).filter((t) => t.startsWith(appId));
          if (ours.length > 0) await admin.deleteTopics({ topics: ours });
        },
      ],
      [
        'subjects',
        async () => {
          for (const topic of [topics.enriched, topics.alerts]) {
            const subject = `${config.schemaRegistry.url}/subjects/${encodeURIComponent(`${topic}-value`)}`;
            await fetch(subject, { method: 'DELETE' });
            await fetch(`${subject}?permanent=true`, { method: 'DELETE' });
          }
        },
      ],
      [
        'archive objects',
        async () => {
          const all = await archiveKeys();
          for (let i = 0; i < all.length; i += 500) {
            await s3.send(
              new DeleteObjectsCommand({
                Bucket: bucket,
                Delete: { Objects: all.slice(i, i + 500).map((Key) => ({ Key })) },
              }),
            );
          }
        },
      ],
      ['admin', async () => admin.disconnect()],
      [
        'database',
        async () => {
          const clickhouse = await createClickHouse({ ...clickHouseOptions(config), database: 'default' });
          try {
            await clickhouse.command({
              query: 'DROP DATABASE IF EXISTS {db:Identifier}',
              query_params: { db: config.clickhouse.database },
            });
          } finally {
            await clickhouse.close();
          }
        },
      ],
    ];
    for (const [what, step] of steps) {
      await step().catch((err: unknown) => logger.warn({ err, what }, 'harness cleanup step failed'));
    }
    s3.destroy();
  }

  return {
    appId,
    config,
    topics,
    logger,
    app,
    deadLetters,
    produce,
    archivedDocuments,
    query: async <T>(sql: string) =>
      (await app.clickhouse.query({ query: sql, format: 'JSONEachRow' })).json<T>(),
    waitFor,
    caughtUp: async () => {
      for (const group of [appId, `${appId}-clickhouse`, `${appId}-archive`])
        if (!(await groupCaughtUp(group))) return false;
      return true;
    },
    stop,
  };
}
