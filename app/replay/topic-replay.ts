import { hostname } from 'node:os';
import type { ClickHouseClient } from '@clickhouse/client';
import { Registry } from 'prom-client';
import type { Logger } from '../../common/logger';
import type { StackLensConfig } from '../../config/config';
import { createClickHouse } from '../../sinks/clickhouse/client';
import { migrate } from '../../sinks/clickhouse/migrations';
import { registerProductSerdes } from '../../sinks/kafka/product-serdes';
import { createSchemaRegistryClient } from '../../sinks/kafka/schema-registry-client';
import { StreamsApp, type BoundedProgress } from '../../topology';
import { correlationCheckIntervalMs } from '../pipeline/trace-correlator';
import { buildPipelineTopology } from '../stacklens-app';
import { clickHouseOptions } from '../clickhouse-options';
import { stackLensTopics } from '../topics';
import type { ReplayRequest } from './replay-arguments';

export interface TopicReplayOptions {
  config: StackLensConfig;
  logger: Logger;
  request: ReplayRequest;
  /** `${APPLICATION_ID}-replay-<id>`: consumer group, internal topics, transactional id prefix. */
  applicationId: string;
  /** The topics to read instead of the (prefixed) input topics: the archive replay's private topics. */
  sources?: { logs: string; traces: string };
  onProgress?: (progress: BoundedProgress) => void;
  /** Default: the host name, as for the live pipeline (the application id differs, so do the ids). */
  instanceId?: string;
  /** A client the caller owns (and closes); default: one opened from the configuration, closed at the end. */
  clickhouse?: ClickHouseClient;
}

export interface RunningReplay {
  readonly streams: StreamsApp;
  /** Resolves when the replay stopped: `completed` when it reached the end of its range (not stopped early). */
  readonly done: Promise<{ completed: boolean }>;
  /** Stops early: the run in progress is committed; the same replay resumes from there. */
  stop(): Promise<void>;
}

/**
 * Runs the live pipeline's topology over a bounded range of the input topics, as its own application.
 *
 * What makes it safe to replay a range the live pipeline already processed:
 * - its own consumer group and internal topics (`applicationId`), so the live group's offsets,
 *   repartition topics and changelogs are untouched;
 * - the ClickHouse sinks have the live pipeline's names, and their progress ledger is keyed by sink
 *   name and SOURCE topic/partition/offsets: offsets already inserted are skipped (otel_logs,
 *   otel_traces); correlation parts and alerts collapse by trace and record / alert id
 *   (ReplacingMergeTree);
 * - no enriched-topic records, and alerts on the alerts topic only with `request.alerts`;
 * - no archive application: the archive already holds this input; no ClickHouse application either:
 *   the replay writes each record's and alert's rows itself (`writeRows`), under the same sinks.
 */
export async function startTopicReplay(options: TopicReplayOptions): Promise<RunningReplay> {
  const { config, logger, request, applicationId } = options;
  const log = logger.child({ component: 'replay', application: applicationId });
  const owned = options.clickhouse === undefined;
  const clickhouse = options.clickhouse ?? (await createClickHouse(clickHouseOptions(config)));
  const close = async (): Promise<void> => {
    if (owned) await clickhouse.close();
  };
  try {
    await migrate(clickhouse, { retention: config.clickhouse.retentionDays, logger });
    const serdes = await registerProductSerdes(createSchemaRegistryClient(config.schemaRegistry), {
      prefix: config.topicPrefix,
    });
    const topics = { ...stackLensTopics(config), ...options.sources };
    const topology = buildPipelineTopology(config, {
      clickhouse,
      serdes,
      logger,
      applicationId,
      sources: options.sources,
      outputs: { enrichedTopic: false, alertsTopic: request.alerts },
      writeRows: true,
    });
    const windowMs = config.correlation.windowSeconds * 1_000;
    const graceMs = config.correlation.graceSeconds * 1_000;
    const wallClockTickMs = 1_000;
    const streams = new StreamsApp(topology, {
      applicationId,
      brokers: config.kafka.brokers,
      instanceId: options.instanceId ?? hostname(),
      processingGuarantee: config.kafka.processingGuarantee,
      wallClockTickMs,
      bounds: {
        topics: request.signals.map((s) => (s === 'logs' ? topics.logs : topics.traces)),
        from: request.from,
        to: request.to,
        // The correlator emits the last open traces once stream time stood still for a window +
        // grace of wall-clock time (its idle check runs every check interval): wait that long.
        lingerMs: windowMs + graceMs + 2 * correlationCheckIntervalMs(windowMs) + 2 * wallClockTickMs,
        onProgress: options.onProgress,
      },
      logger,
      registry: new Registry(),
    });
    log.info({ signals: request.signals, alerts: request.alerts }, `replay topology:\n${streams.describe()}`);
    await streams.start();
    const done = streams.done.then(() => ({ completed: streams.reachedEnd() }));
    const closed = done.finally(close);
    closed.catch(() => undefined);
    return {
      streams,
      done: closed,
      stop: async () => {
        await streams.stop();
        await closed.catch(() => undefined);
      },
    };
  } catch (err) {
    await close();
    throw err;
  }
}
