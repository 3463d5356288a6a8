import { waitFor } from './wait-for';
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, Partitioners, type KafkaMessage, type Message } from 'kafkajs';
import { Registry } from 'prom-client';
import { createLogger } from '../../common/logger';
import { kafkaBootstrap } from '../../infra/services/kafka';
import { stackSettingsFromEnv } from '../../infra/stack-settings';
import type { StreamsAppOptions } from '../../topology';
import { decodeRepartitionBatch } from '../../topology/processor/repartition-batch';

/** Helpers of the topology integration tests: real broker, unique names, bounded waits. */
export const BROKERS = [kafkaBootstrap(stackSettingsFromEnv())];

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export function testKafka(): Kafka {
  return new Kafka({ clientId: uniqueName('topology-test'), brokers: BROKERS, logLevel: logLevel.NOTHING });
}

export function quietLogger() {
  return createLogger({ level: process.env.TOPOLOGY_TEST_LOG === '1' ? 'debug' : 'silent', format: 'text' });
}

export function newRegistry(): Registry {
  return new Registry();
}

/** Options of a test's one StreamsApp instance: the local broker, a quiet logger, metrics of its own. */
export function testAppOptions(
  applicationId: string,
  overrides: Partial<StreamsAppOptions> = {},
): StreamsAppOptions {
  return {
    applicationId,
    instanceId: 'i1',
    brokers: BROKERS,
    logger: quietLogger(),
    registry: newRegistry(),
    ...overrides,
  };
}

/**
 * Creates test topics. They keep their records until deleted (`retention.ms` -1 unless `config` says
 * otherwise): tests produce records stamped with fixed event times years ago, which the broker's
 * retention check (every 5 minutes, 7 days by default) would otherwise delete whenever it ran between
 * a test's produce and its read.
 */
export async function createTopics(
  kafka: Kafka,
  topics: { topic: string; partitions: number; config?: Record<string, string> }[],
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: topics.map((t) => ({
        topic: t.topic,
        numPartitions: t.partitions,
        replicationFactor: 1,
        configEntries: Object.entries({ 'retention.ms': '-1', ...t.config }).map(([name, value]) => ({
          name,
          value,
        })),
      })),
    });
  } finally {
    await admin.disconnect();
  }
}

/** The group's committed offset of partition 0 of `topic`; -1 when nothing is committed. */
export async function committedOffset(kafka: Kafka, groupId: string, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return Number(offsets?.partitions[0]?.offset ?? -1);
  } finally {
    await admin.disconnect();
  }
}

export async function produce(kafka: Kafka, topic: string, messages: Message[]): Promise<void> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += 1000) {
      await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 1000) });
    }
  } finally {
    await producer.disconnect();
  }
}

export interface ReadRecord {
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly value: string | null;
  readonly timestamp: number;
  readonly headers: Record<string, string>;
}

/**
 * Reads a topic from the beginning (read_committed) until every partition is read up to the
 * high watermark taken at the call and `until` holds on what was read.
 */
export async function readTopic(
  kafka: Kafka,
  topic: string,
  options: {
    until?: (records: ReadRecord[]) => boolean;
    timeoutMs?: number;
    /** A repartition topic: each Kafka record is a batch, read as the records in it. */
    repartition?: boolean;
  } = {},
): Promise<ReadRecord[]> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const records: ReadRecord[] = [];
  const admin = kafka.admin();
  await admin.connect();
  const consumer = kafka.consumer({
    groupId: uniqueName('reader'),
    readUncommitted: false,
    maxWaitTimeInMs: 200,
  });
  const positions = new Map<number, number>();
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      positions.set(
        payload.partition,
        Math.max(positions.get(payload.partition) ?? 0, Number(payload.lastOffset) + 1),
      );
    });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        if (!options.repartition) {
          records.push(toReadRecord(partition, message));
          return;
        }
        for (const item of decodeRepartitionBatch(message.value)) {
          records.push({
            partition,
            offset: message.offset,
            key: item.key?.toString() ?? null,
            value: item.value?.toString() ?? null,
            timestamp: item.timestamp,
            headers: { ...item.headers },
          });
        }
      },
    });
    let highs: { partition: number; high: string }[] = [];
    const caughtUp = async (): Promise<boolean> => {
      if (options.until && !options.until(records)) return false;
      highs = await admin.fetchTopicOffsets(topic);
      return highs.every((h) => Number(h.high) === 0 || (positions.get(h.partition) ?? 0) >= Number(h.high));
    };
    await waitFor(
      () =>
        `topic ${topic} to be read (${records.length} records read; ` +
        `read up to ${JSON.stringify([...positions])}, high watermarks ${JSON.stringify(highs)})`,
      caughtUp,
      timeoutMs,
    );
    return records;
  } finally {
    await consumer.disconnect();
    await admin.disconnect();
  }
}

function toReadRecord(partition: number, message: KafkaMessage): ReadRecord {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = String(v);
  return {
    partition,
    offset: message.offset,
    key: message.key?.toString() ?? null,
    value: message.value?.toString() ?? null,
    timestamp: Number(message.timestamp),
    headers,
  };
}
