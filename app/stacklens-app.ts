import { readFileSync } from 'node:fs';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { ClickHouseClient } from '@clickhouse/client';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import {
  AggregatorRegistry,
  collectDefaultMetrics,
  Counter,
  Registry,
  type MetricObjectWithValues,
  type MetricValue,
} from 'prom-client';
import type { Logger } from '../common/logger';
import type { StackLensConfig } from '../config/config';
import { parseAlertRulesText, type AlertRules } from '../processors/alerts';
import type { Alert, LogRecord } from '../processors/records';
import { createRecordPipeline, type RecordPipeline } from '../processors/pipeline';
import { createClickHouse } from '../sinks/clickhouse/client';
import {
  alertsSink,
  correlationPartsSink,
  logPatternRefsSink,
  logPatternsSink,
  otelLogsSink,
  otelTracesSink,
} from '../sinks/clickhouse/clickhouse-sink';
import { migrate } from '../sinks/clickhouse/migrations';
import { registerProductSerdes } from '../sinks/kafka/product-serdes';
import { createSchemaRegistryClient } from '../sinks/kafka/schema-registry-client';
import { ensureTopics, productTopicSpecs } from '../sinks/kafka/topics';
import {
  kafkajsLogCreator,
  startRetrying,
  StreamsApp,
  type Serde,
  type StreamsAppOptions,
  type Topology,
} from '../topology';
import { ArchiveThread } from './archive-thread';
import { clickHouseOptions } from './clickhouse-options';
import { StartedComponents } from './started-components';
import { stackLensTopics } from './topics';
import { DEFAULT_DRAIN_SETTINGS, DEFAULT_PATTERN_ANOMALY_SETTINGS } from '../processors/patterns';
import type { LogPatternSettings } from './pipeline/log-patterns';
import { buildClickHouseTopology } from './pipeline/clickhouse-topology';
import {
  buildStackLensTopology,
  type StackLensSinks,
  type StackLensTopologyOptions,
} from './pipeline/stacklens-topology';

/** Everything a running StackLens holds, closed in reverse order by `stop`. */
export interface RunningStackLens {
  readonly streams: StreamsApp;
  /** Writes each input record's and alert's rows to ClickHouse as its own application (buildClickHouseTopologyFor). */
  readonly clickhouseApp: StreamsApp;
  /** The archive runs as its own application in its own thread, committing every ARCHIVE_FLUSH_SECONDS. */
  readonly archive: ArchiveThread;
  readonly clickhouse: ClickHouseClient;
  /** The pipeline's and the API's metrics; the other applications' are added by `metrics()`. */
  readonly registry: Registry;
  /** Every metric of the process: the registry's, the ClickHouse application's and the archive thread's. */
  metrics(): Promise<MetricObjectWithValues<MetricValue<string>>[]>;
  readonly schemaRegistry: SchemaRegistry;
  /**
   * What keeps the pipeline or the ClickHouse application from doing its job (StreamsApp.problem),
   * undefined when nothing: the readiness probe's `pipeline` check.
   */
  problem(): string | undefined;
  /** Settles when the pipeline stops: rejects on a fatal runtime error. */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

export interface StackLensAppOptions {
  config: StackLensConfig;
  logger: Logger;
  /** Stable per instance (the transactional id derives from it); default: INSTANCE_ID, else the host name. */
  instanceId?: string;
}

export interface PipelineTopologyDeps {
  clickhouse: ClickHouseClient;
  /** Value serdes of stacklens-enriched and stacklens-alerts (the registry's Avro serdes when running). */
  serdes: { enriched: Serde<LogRecord>; alerts: Serde<Alert> };
  logger: Logger;
  /** Default APPLICATION_ID; a replay runs the same topology under its own id. */
  applicationId?: string;
  /** Topics to read instead of the (prefixed) input topics. */
  sources?: { logs: string; traces: string };
  outputs?: StackLensTopologyOptions['outputs'];
  /**
   * Write each record's and alert's rows (otel_logs, otel_traces, correlation parts, stacklens_alerts)
   * in this topology, as a replay does; the live pipeline leaves them to the ClickHouse application
   * (buildClickHouseTopologyFor).
   */
  writeRows?: boolean;
  onRedacted?: (count: number) => void;
}

/**
 * The pipeline topology as configured: the live pipeline, replays and `stacklens topology` build it
 * here, so they cannot drift apart. The ClickHouse sinks keep their default names everywhere: their
 * progress ledger is keyed by them, which is what makes a replay skip rows already inserted.
 */
export function buildPipelineTopology(config: StackLensConfig, deps: PipelineTopologyDeps): Topology {
  const sinkOptions = { client: deps.clickhouse, log: deps.logger };
  const windowMs = config.correlation.windowSeconds * 1_000;
  return buildStackLensTopology({
    applicationId: deps.applicationId ?? config.kafka.applicationId,
    topics: { ...stackLensTopics(config), ...deps.sources },
    records: recordPipeline(config),
    alertRules: loadAlertRules(config.alerts.rulesFile),
    correlation: {
      windowMs,
      graceMs: config.correlation.graceSeconds * 1_000,
      retentionMs: 10 * windowMs,
    },
    serdes: { enrichedLog: deps.serdes.enriched, alert: deps.serdes.alerts },
    sinks: deps.writeRows === true ? rowSinks(sinkOptions) : undefined,
    patterns: config.patterns === undefined ? undefined : { settings: logPatternSettings(config.patterns) },
    outputs: deps.outputs,
    onRedacted: deps.onRedacted,
  });
}

function recordPipeline(config: StackLensConfig): RecordPipeline {
  return createRecordPipeline({
    limits: config.records,
    redaction: config.redaction,
    inputEncodings: config.inputEncodings,
  });
}

/** The ClickHouse sinks of records, alerts and patterns, under their default names (their ledger's keys). */
function rowSinks(options: { client: ClickHouseClient; log: Logger }): StackLensSinks {
  return {
    logs: otelLogsSink(options),
    spans: otelTracesSink(options),
    correlationParts: correlationPartsSink(options),
    alerts: alertsSink(options),
    patternRefs: logPatternRefsSink(options),
    patternBuckets: logPatternsSink(options),
  };
}

/** The ClickHouse application's topology as configured (./pipeline/clickhouse-topology.ts). */
export function buildClickHouseTopologyFor(
  config: StackLensConfig,
  deps: { clickhouse: ClickHouseClient; alertSerde: Serde<Alert>; logger: Logger },
): Topology {
  return buildClickHouseTopology({
    topics: stackLensTopics(config),
    records: recordPipeline(config),
    alertSerde: deps.alertSerde,
    sinks: rowSinks({ client: deps.clickhouse, log: deps.logger }),
  });
}

/**
 * The ClickHouse application's runtime options: its own group, one checkpoint per
 * CLICKHOUSE_COMMIT_INTERVAL_MS. At least once is enough: it writes nothing to Kafka, and its sinks
 * skip what their ledger shows inserted.
 */
export function clickHouseAppOptions(
  config: StackLensConfig,
  instanceId: string,
): Omit<StreamsAppOptions, 'logger' | 'registry'> {
  return {
    applicationId: `${config.kafka.applicationId}-clickhouse`,
    brokers: config.kafka.brokers,
    instanceId,
    processingGuarantee: 'at_least_once',
    commitIntervalMs: config.clickhouse.commitIntervalMs,
    exceptionPolicies: config.kafka.exceptionPolicies,
  };
}

/** Drain with the default masks and Drain3's defaults but for what PATTERN_* set. */
export function logPatternSettings(p: NonNullable<StackLensConfig['patterns']>): LogPatternSettings {
  return {
    drain: {
      ...DEFAULT_DRAIN_SETTINGS,
      simTh: p.similarity,
      depth: p.treeDepth,
      maxClusters: p.maxPerService,
    },
    anomalies: {
      ...DEFAULT_PATTERN_ANOMALY_SETTINGS,
      bucketMs: p.bucketSeconds * 1_000,
      warmupBuckets: p.warmupBuckets,
      deviations: p.bandSigmas,
    },
    maxBodyChars: 1_024,
  };
}

/** Reads and validates the alert rules file named by ALERT_RULES_FILE. */
export function loadAlertRules(path: string): AlertRules {
  return parseAlertRulesText(readFileSync(path, 'utf8'));
}

export function kafkaClient(config: StackLensConfig, logger: Logger, clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers: [...config.kafka.brokers],
    logLevel: logLevel.WARN,
    logCreator: kafkajsLogCreator(logger),
  });
}

/**
 * The composition root: from validated configuration to a running pipeline. Order matters: the
 * product topics, ClickHouse tables and registry subjects exist before the first record is read.
 */
export async function startStackLens(options: StackLensAppOptions): Promise<RunningStackLens> {
  const { config, logger } = options;
  const log = logger.child({ component: 'app' });

  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const redactions = new Counter({
    name: 'stacklens_redactions_total',
    help: 'Values replaced by PII redaction',
    registers: [registry],
  });

  const kafka = kafkaClient(config, logger, `${config.kafka.applicationId}-setup`);
  const admin: Admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, productTopicSpecs(config.topics, { prefix: config.topicPrefix }), { logger });
  } finally {
    await admin.disconnect();
  }

  const started = new StartedComponents();
  try {
    return await startComponents(options, registry, redactions, started);
  } catch (error) {
    await started.stopAfterFailedStart(log);
    throw error;
  }
}

async function startComponents(
  options: StackLensAppOptions,
  registry: Registry,
  redactions: Counter,
  started: StartedComponents,
): Promise<RunningStackLens> {
  const { config, logger } = options;
  const log = logger.child({ component: 'app' });
  const clickhouse = await createClickHouse(clickHouseOptions(config));
  started.add(() => clickhouse.close());
  await migrate(clickhouse, { retention: config.clickhouse.retentionDays, logger });
  log.info({ database: config.clickhouse.database }, 'ClickHouse tables ready');

  const schemaRegistry = createSchemaRegistryClient(config.schemaRegistry);
  const serdes = await registerProductSerdes(schemaRegistry, { prefix: config.topicPrefix });
  log.info('Avro schemas registered');

  const topology = buildPipelineTopology(config, {
    clickhouse,
    serdes,
    logger,
    onRedacted: (count) => redactions.inc(count),
  });

  const instanceId = options.instanceId ?? config.kafka.instanceId;
  const pipelineOptions: StreamsAppOptions = {
    applicationId: config.kafka.applicationId,
    brokers: config.kafka.brokers,
    instanceId,
    processingGuarantee: config.kafka.processingGuarantee,
    commitIntervalMs: config.kafka.commitIntervalMs,
    exceptionPolicies: config.kafka.exceptionPolicies,
    repartitionPurgeIntervalMs: config.kafka.repartitionPurgeIntervalMs,
    stateDir: config.kafka.stateDir,
    stateCacheBytes: config.kafka.stateCacheBytes,
    stateCleanupDelayMs: config.kafka.stateCleanupDelayMs,
    maxTaskIdleMs: config.kafka.maxTaskIdleMs,
    logger,
    registry,
  };
  // Its own client (on chDB its own engine session and statement queue), so the statements of the
  // process's other client (migrations, the API's readiness checks) never queue behind its batches.
  const rowsClickhouse = await createClickHouse(clickHouseOptions(config));
  started.add(() => rowsClickhouse.close());
  const clickhouseRegistry = new Registry();
  const rowsTopology = buildClickHouseTopologyFor(config, {
    clickhouse: rowsClickhouse,
    alertSerde: serdes.alerts,
    logger,
  });
  const archive = new ArchiveThread(config, instanceId, logger);
  started.add(() => archive.stop());
  // Each application logs its topology as it starts (StreamsApp.start).
  const streams = await startRetrying(() => new StreamsApp(topology, pipelineOptions), { log });
  started.add(() => streams.stop());
  const clickhouseApp = await startRetrying(
    () =>
      new StreamsApp(rowsTopology, {
        ...clickHouseAppOptions(config, instanceId),
        logger,
        registry: clickhouseRegistry,
      }),
    { log },
  );
  log.info(`archive topology (own thread):\n${await archive.start()}`);

  let stopping: Promise<void> | undefined;
  return {
    streams,
    clickhouseApp,
    archive,
    clickhouse,
    registry,
    metrics: async () =>
      AggregatorRegistry.aggregate([
        await registry.getMetricsAsJSON(),
        await clickhouseRegistry.getMetricsAsJSON(),
        await archive.metrics(),
      ]).getMetricsAsJSON(),
    schemaRegistry,
    problem: () => {
      const rows = clickhouseApp.problem();
      return streams.problem() ?? (rows === undefined ? undefined : `ClickHouse application: ${rows}`);
    },
    done: Promise.all([streams.done, clickhouseApp.done, archive.done]).then(() => undefined),
    stop: () =>
      (stopping ??= (async () => {
        await Promise.all([streams.stop(), clickhouseApp.stop(), archive.stop()]);
        await Promise.all([rowsClickhouse.close(), clickhouse.close()]);
      })()),
  };
}
