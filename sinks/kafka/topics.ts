import type { Admin } from 'kafkajs';
import { ConfigResourceTypes } from 'kafkajs';
import { StackLensError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import type { TopicSettings } from '../../config/config';

/** The topics StackLens reads and writes, named in this one place. */
export const PRODUCT_TOPICS = {
  /** OTLP log batches from the Collector's Kafka exporter (or JSON logs from our own ingest). */
  otelLogs: 'otel-logs',
  /** OTLP trace batches from the Collector's Kafka exporter. */
  otelTraces: 'otel-traces',
  /** Enriched log records, Avro (schemas/enriched-log.avsc). */
  enriched: 'stacklens-enriched',
  /** Alert events, Avro (schemas/alert.avsc). */
  alerts: 'stacklens-alerts',
  /**
   * The log pattern miner's rows, JSON, keyed by service: each line's pattern and each pattern's
   * closed buckets (app/pipeline/log-patterns.ts PatternRow), for the ClickHouse application.
   */
  logPatterns: 'stacklens-log-patterns',
} as const;

export type ProductTopicKey = keyof typeof PRODUCT_TOPICS;

/** The product topics' names with TOPIC_PREFIX applied. */
export function productTopicNames(prefix: string): Record<ProductTopicKey, string> {
  const names = {} as Record<ProductTopicKey, string>;
  for (const key of Object.keys(PRODUCT_TOPICS) as ProductTopicKey[])
    names[key] = `${prefix}${PRODUCT_TOPICS[key]}`;
  return names;
}

/** What StackLens wants a topic to look like when it creates it. */
export interface TopicSpec {
  topic: string;
  partitions: number;
  retentionMs: number;
}

const HOUR_MS = 3_600_000;

/**
 * The product topics sized by configuration (`config.topics`). `prefix` is prepended to every name, so
 * tests can work on topics of their own next to the app's.
 */
export function productTopicSpecs(
  settings: Readonly<Record<ProductTopicKey, TopicSettings>>,
  options: { prefix?: string } = {},
): TopicSpec[] {
  const prefix = options.prefix ?? '';
  return (Object.keys(PRODUCT_TOPICS) as ProductTopicKey[]).map((key) => ({
    topic: `${prefix}${PRODUCT_TOPICS[key]}`,
    partitions: settings[key].partitions,
    retentionMs: settings[key].retentionHours * HOUR_MS,
  }));
}

/** An existing topic that does not match its spec; StackLens reports it and leaves the topic as it is. */
export interface TopicMismatch {
  topic: string;
  problem: 'fewer-partitions' | 'different-retention';
  wanted: number;
  actual: number;
  /** One line for logs and error messages. */
  message: string;
}

export interface EnsureTopicsReport {
  created: string[];
  /** Topics that existed already (whether or not they match). */
  existing: string[];
  mismatches: TopicMismatch[];
}

/** A topic exists with fewer partitions than configured and the caller asked to fail on that. */
export class TopicPartitionsError extends StackLensError {
  constructor(readonly mismatches: readonly TopicMismatch[]) {
    super(
      `topics with fewer partitions than configured (StackLens does not alter existing topics; ` +
        `add partitions with kafka-topics --alter or lower the setting):\n` +
        mismatches.map((m) => `  - ${m.message}`).join('\n'),
    );
  }
}

export interface EnsureTopicsOptions {
  /** Receives one warning per mismatch. */
  logger?: Logger;
  /**
   * `warn` (default): a topic with fewer partitions is reported and used as it is (fewer parallel tasks).
   * `fail`: throws TopicPartitionsError instead.
   */
  onFewerPartitions?: 'warn' | 'fail';
}

/**
 * Creates the topics that are absent, with their partitions and `retention.ms`, and the broker's
 * default replication factor (so one setting on the cluster fits a single dev node and a production
 * cluster alike). Topics that exist are never altered — adding partitions moves keys between
 * partitions and shortening retention deletes data, both operator decisions — but a topic with fewer
 * partitions than asked, or another retention, is reported.
 */
export async function ensureTopics(
  admin: Admin,
  specs: readonly TopicSpec[],
  options: EnsureTopicsOptions = {},
): Promise<EnsureTopicsReport> {
  const present = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !present.has(s.topic));
  const existing = specs.filter((s) => present.has(s.topic));
  if (missing.length > 0) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((s) => ({
        topic: s.topic,
        numPartitions: s.partitions,
        replicationFactor: -1,
        configEntries: [{ name: 'retention.ms', value: String(s.retentionMs) }],
      })),
    });
  }
  const mismatches = existing.length > 0 ? await mismatchesOf(admin, existing) : [];
  const fewer = mismatches.filter((m) => m.problem === 'fewer-partitions');
  if (options.onFewerPartitions === 'fail' && fewer.length > 0) throw new TopicPartitionsError(fewer);
  for (const m of mismatches) {
    options.logger?.warn(
      { topic: m.topic, wanted: m.wanted, actual: m.actual },
      `${m.message}; StackLens uses it as it is`,
    );
  }
  return { created: missing.map((s) => s.topic), existing: existing.map((s) => s.topic), mismatches };
}

async function mismatchesOf(admin: Admin, specs: readonly TopicSpec[]): Promise<TopicMismatch[]> {
  const metadata = await admin.fetchTopicMetadata({ topics: specs.map((s) => s.topic) });
  const configs = await admin.describeConfigs({
    includeSynonyms: false,
    resources: specs.map((s) => ({
      type: ConfigResourceTypes.TOPIC,
      name: s.topic,
      configNames: ['retention.ms'],
    })),
  });
  const mismatches: TopicMismatch[] = [];
  for (const spec of specs) {
    const partitions = metadata.topics.find((t) => t.name === spec.topic)?.partitions.length ?? 0;
    if (partitions < spec.partitions) {
      mismatches.push({
        topic: spec.topic,
        problem: 'fewer-partitions',
        wanted: spec.partitions,
        actual: partitions,
        message: `topic ${spec.topic} has ${partitions} partitions, ${spec.partitions} are configured`,
      });
    }
    const retention = configs.resources
      .find((r) => r.resourceName === spec.topic)
      ?.configEntries.find((e) => e.configName === 'retention.ms')?.configValue;
    if (retention !== undefined && Number(retention) !== spec.retentionMs) {
      mismatches.push({
        topic: spec.topic,
        problem: 'different-retention',
        wanted: spec.retentionMs,
        actual: Number(retention),
        message: `topic ${spec.topic} keeps records for retention.ms=${retention}, ${spec.retentionMs} is configured`,
      });
    }
  }
  return mismatches;
}
