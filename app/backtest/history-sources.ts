import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { StackLensError } from '../../common/errors';
import type { StackLensConfig } from '../../config/config';
import { DecodeError } from '../../processors/errors';
import type { RecordPipeline } from '../../processors/pipeline';
import type { LogRecord, SpanRecord } from '../../processors/records';
import { createArchiveStore } from '../../sinks/archive/store';
import {
  archivedJson,
  parseArchiveKey,
  selectArchivedObjects,
  type ArchivedObject,
} from '../replay/archive-replay';
import type { StackLensTopics } from '../pipeline/stacklens-topology';

/** A backtest's history could not be read. */
export class BacktestSourceError extends StackLensError {}

/** Where a backtest's records go, in the order each source partition holds them. */
export interface HistorySink {
  log(record: LogRecord): void;
  span(record: SpanRecord): void;
  /** A message that could not be decoded (the pipeline would have dead-lettered it). */
  undecodable(): void;
}

export interface TimeRange {
  fromMs: number;
  toMs: number;
}

/**
 * Reads `[fromMs, toMs)` of otel-logs and otel-traces (offsets found by time with Kafka's offset index,
 * at start) with a consumer of its own throwaway group that never commits, and deletes that group at
 * the end: nothing is written to any topic, and the live group's offsets are not touched.
 */
export async function readTopicHistory(args: {
  kafka: Kafka;
  topics: Pick<StackLensTopics, 'logs' | 'traces'>;
  applicationId: string;
  range: TimeRange;
  records: RecordPipeline;
  sink: HistorySink;
}): Promise<void> {
  const { kafka, topics, range, records, sink } = args;
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `${args.applicationId}-backtest-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200, readUncommitted: false });
  try {
    // Per partition: [start, end) offsets; partitions with nothing in range are left out.
    const bounds = new Map<string, { start: bigint; end: bigint }>();
    for (const topic of [topics.logs, topics.traces]) {
      const from = await admin.fetchTopicOffsetsByTimestamp(topic, range.fromMs);
      const to = new Map(
        (await admin.fetchTopicOffsetsByTimestamp(topic, range.toMs)).map((p) => [
          p.partition,
          BigInt(p.offset),
        ]),
      );
      for (const p of from) {
        const start = BigInt(p.offset);
        const end = to.get(p.partition) ?? start;
        if (end > start) bounds.set(`${topic}:${p.partition}`, { start, end });
      }
    }
    if (bounds.size === 0) return;

    await consumer.connect();
    await consumer.subscribe({ topics: [topics.logs, topics.traces], fromBeginning: true });
    let remaining = bounds.size;
    let failure: unknown;
    const finished = new Promise<void>((resolve, reject) => {
      void consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset }) => {
          const bound = bounds.get(`${batch.topic}:${batch.partition}`);
          if (bound === undefined) return;
          for (const message of batch.messages) {
            const offset = BigInt(message.offset);
            if (offset < bound.start) continue;
            if (offset >= bound.end) break;
            try {
              if (batch.topic === topics.logs) {
                const position = { topic: batch.topic, partition: batch.partition, offset: message.offset };
                for (const r of records.logs(message.value, message.headers, position).records) sink.log(r);
              } else {
                for (const r of records.spans(message.value, message.headers).records) sink.span(r);
              }
            } catch (error) {
              if (!(error instanceof DecodeError)) {
                failure = error;
                reject(error);
                return;
              }
              sink.undecodable();
            }
            resolveOffset(message.offset);
          }
        },
      });
      consumer.on(consumer.events.CRASH, (event) => reject(event.payload.error));
      // Progress from kafkajs's batch events rather than the messages: a batch of only transaction
      // markers (or aborted records) has no message, and its end may be the range's end.
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        const key = `${payload.topic}:${payload.partition}`;
        const bound = bounds.get(key);
        if (bound === undefined || BigInt(payload.lastOffset) + 1n < bound.end) return;
        bounds.delete(key);
        consumer.pause([{ topic: payload.topic, partitions: [payload.partition] }]);
        if (--remaining === 0) resolve();
      });
    });
    // Start each partition at its range (a group without commits would start at the beginning).
    consumer.on(consumer.events.GROUP_JOIN, () => {
      for (const [key, bound] of bounds) {
        const at = key.lastIndexOf(':');
        consumer.seek({
          topic: key.slice(0, at),
          partition: Number(key.slice(at + 1)),
          offset: String(bound.start),
        });
      }
    });
    await finished;
    if (failure !== undefined) throw failure;
  } finally {
    await consumer.disconnect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}

/**
 * Reads the archive objects of the range (by their minute folders, as `stacklens replay --archive`
 * selects them) and decodes them in memory: nothing is produced or written.
 */
export async function readArchiveHistory(args: {
  config: StackLensConfig;
  topics: Pick<StackLensTopics, 'logs' | 'traces'>;
  range: TimeRange;
  records: RecordPipeline;
  sink: HistorySink;
}): Promise<void> {
  const { config, topics, range, records, sink } = args;
  const s3 = config.archive.s3;
  const store = createArchiveStore({
    s3: s3 && {
      endpoint: s3.endpoint,
      bucket: s3.bucket,
      region: s3.region,
      credentials:
        s3.accessKeyId !== undefined && s3.secretAccessKey !== undefined
          ? { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey }
          : undefined,
    },
    dir: config.archive.dir,
  });
  try {
    const listed: ArchivedObject[] = [];
    for (const [signal, topic] of [
      ['logs', topics.logs],
      ['traces', topics.traces],
    ] as const) {
      for (const key of await store.list('year=')) {
        const object = parseArchiveKey(key);
        if (object !== undefined && object.signal === signal && object.topic === topic) listed.push(object);
      }
    }
    for (const objects of selectArchivedObjects(listed, range.fromMs, range.toMs).values()) {
      for (const object of objects) {
        const body = await store.get(object.key);
        if (body === undefined) continue; // listed, then expired
        // OTLP/JSON whatever ARCHIVE_MARSHALER and ARCHIVE_COMPRESSION were (read by the key's extension).
        const json = await archivedJson(object, body);
        const headers = { 'content-type': 'application/json' };
        try {
          if (object.signal === 'logs') {
            const position = {
              topic: object.topic,
              partition: object.partition,
              offset: String(object.first),
            };
            for (const r of records.logs(json, headers, position).records)
              if (inRange(r.time_ms, range)) sink.log(r);
          } else {
            for (const r of records.spans(json, headers).records)
              if (inRange(r.start_ms, range)) sink.span(r);
          }
        } catch (error) {
          if (!(error instanceof DecodeError)) throw error;
          sink.undecodable();
        }
      }
    }
  } catch (error) {
    if (error instanceof StackLensError) throw error;
    throw new BacktestSourceError(`reading the archive failed: ${(error as Error).message}`, {
      cause: error,
    });
  } finally {
    store.close();
  }
}

function inRange(timeMs: number, range: TimeRange): boolean {
  return timeMs >= range.fromMs && timeMs < range.toMs;
}
