import type { ClickHouseClient } from '@clickhouse/client';

/** Table names; unqualified, so they resolve to the client's database (see ./client.ts). */
export const TABLES = {
  logs: 'otel_logs',
  traces: 'otel_traces',
  traceIdTimestamps: 'otel_traces_trace_id_ts',
  correlations: 'stacklens_correlations',
  alerts: 'stacklens_alerts',
  sinkProgress: 'stacklens_sink_progress',
} as const;

/**
 * How many recent insert blocks per table MergeTree remembers for `insert_deduplication_token`.
 * Without this setting a non-replicated MergeTree ignores tokens. The ClickHouse sink re-inserts
 * under its token only a write whose insert may have landed before a crash (see
 * ../replay-plan.ts); that token must still be remembered when the replay comes, after every other
 * partition's inserts into the table in the meantime (e.g. 24 partitions flushing each second fill
 * 1000 blocks in 40 s). 10 000 covers minutes of a restart; each entry is a short hash.
 */
export const DEDUPLICATION_WINDOW = 10_000;

const SETTINGS = `SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = ${DEDUPLICATION_WINDOW}`;

/** Hot resource attributes the Collector exporter materializes into columns of otel_logs. */
const MATERIALIZED_RESOURCE_ATTRIBUTES = [
  'k8s.cluster.name',
  'k8s.container.name',
  'k8s.deployment.name',
  'k8s.namespace.name',
  'k8s.node.name',
  'k8s.pod.name',
  'k8s.pod.uid',
  'deployment.environment.name',
];

/**
 * otel_logs as the OpenTelemetry Collector's ClickHouse exporter creates it (contrib
 * exporter/clickhouseexporter, internal/sqltemplates/logs_table.sql, bloom-filter variant that every
 * ClickHouse version accepts), so Grafana's ClickHouse data source reads it in its OTel mode as is.
 * Two deliberate additions, both ignored by readers that do not know them:
 * - TimestampTime: the exporter dropped it in 2026 (PR 47720) but Grafana's default log query still
 *   selects it (contrib issue 48770); a DEFAULT column keeps both Grafana generations working;
 * - StackLensRecordId / StackLensErrorCode: the record id that stacklens_correlations.log_ids and
 *   alerts refer to, and the error code enrichment classified.
 */
const OTEL_LOGS = `
CREATE TABLE IF NOT EXISTS ${TABLES.logs} (
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    TraceFlags UInt8,
    SeverityText LowCardinality(String) CODEC(ZSTD(1)),
    SeverityNumber UInt8,
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    Body String CODEC(ZSTD(1)),
    ResourceSchemaUrl LowCardinality(String) CODEC(ZSTD(1)),
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeSchemaUrl LowCardinality(String) CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion LowCardinality(String) CODEC(ZSTD(1)),
    ScopeAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    LogAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    EventName String CODEC(ZSTD(1)),
${MATERIALIZED_RESOURCE_ATTRIBUTES.map(
  (key) =>
    `    \`__otel_materialized_${key}\` LowCardinality(String) MATERIALIZED ResourceAttributes['${key}'] CODEC(ZSTD(1)),`,
).join('\n')}
    TimestampTime DateTime DEFAULT toDateTime(Timestamp),
    StackLensRecordId String CODEC(ZSTD(1)),
    StackLensErrorCode LowCardinality(String) CODEC(ZSTD(1)),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_log_attr_key mapKeys(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_log_attr_value mapValues(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_lower_body lower(Body) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8,
    INDEX idx_stacklens_record_id StackLensRecordId TYPE bloom_filter(0.001) GRANULARITY 1
) ENGINE = MergeTree()
PARTITION BY toDate(Timestamp)
ORDER BY (toStartOfFiveMinutes(Timestamp), ServiceName, Timestamp)
${SETTINGS}`;

/** otel_traces as the exporter creates it (traces_table.sql, bloom-filter variant), plus StackLensErrorCode. */
const OTEL_TRACES = `
CREATE TABLE IF NOT EXISTS ${TABLES.traces} (
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    ParentSpanId String CODEC(ZSTD(1)),
    TraceState String CODEC(ZSTD(1)),
    SpanName LowCardinality(String) CODEC(ZSTD(1)),
    SpanKind LowCardinality(String) CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    SpanAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    Duration UInt64 CODEC(T64, ZSTD(1)),
    StatusCode LowCardinality(String) CODEC(ZSTD(1)),
    StatusMessage String CODEC(ZSTD(1)),
    Events Nested (
        Timestamp DateTime64(9),
        Name LowCardinality(String),
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    Links Nested (
        TraceId String,
        SpanId String,
        TraceState String,
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    ResourceAttributeItems Array(String) ALIAS arrayMap(kv -> concat(kv.1, '=', kv.2), CAST(ResourceAttributes, 'Array(Tuple(String, String))')),
    SpanAttributeItems Array(String) ALIAS arrayMap(kv -> concat(kv.1, '=', kv.2), CAST(SpanAttributes, 'Array(Tuple(String, String))')),
    StackLensErrorCode LowCardinality(String) CODEC(ZSTD(1)),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_key mapKeys(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_value mapValues(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_duration Duration TYPE minmax GRANULARITY 1
) ENGINE = MergeTree()
PARTITION BY toDate(Timestamp)
PRIMARY KEY (ServiceName, SpanName, toDateTime(Timestamp))
ORDER BY (ServiceName, SpanName, toDateTime(Timestamp), Timestamp)
${SETTINGS}`;

/**
 * The exporter's trace-id → time-range lookup (traces_id_ts_lookup_table.sql and _mv.sql), which
 * Grafana uses to bound a trace-by-id query to the partitions that hold it. The view only sees
 * blocks that were actually inserted, so a deduplicated replay adds nothing here either.
 */
const OTEL_TRACES_TRACE_ID_TS = `
CREATE TABLE IF NOT EXISTS ${TABLES.traceIdTimestamps} (
    TraceId String CODEC(ZSTD(1)),
    Start SimpleAggregateFunction(min, DateTime) CODEC(ZSTD(1)),
    End SimpleAggregateFunction(max, DateTime) CODEC(ZSTD(1))
) ENGINE = AggregatingMergeTree()
PARTITION BY toStartOfWeek(Start)
ORDER BY (TraceId)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1`;

const OTEL_TRACES_TRACE_ID_TS_MV = `
CREATE MATERIALIZED VIEW IF NOT EXISTS ${TABLES.traceIdTimestamps}_mv
TO ${TABLES.traceIdTimestamps}
AS SELECT
    TraceId,
    min(Timestamp) AS Start,
    max(Timestamp) AS End
FROM ${TABLES.traces}
WHERE TraceId != ''
GROUP BY TraceId`;

/**
 * One row per trace (processors/records.ts Correlation). Correlations are re-emitted as records
 * arrive, each with a higher `version`; ReplacingMergeTree(version) keeps the latest per trace_id
 * once parts merge, and `FINAL` (or argMax by version) gives it before that. Deliberately not
 * partitioned by time: a late span can move a trace's start, and rows only replace each other
 * within one partition.
 */
const CORRELATIONS = `
CREATE TABLE IF NOT EXISTS ${TABLES.correlations} (
    trace_id String CODEC(ZSTD(1)),
    root_span_id String CODEC(ZSTD(1)),
    root_span_name LowCardinality(String) CODEC(ZSTD(1)),
    root_service LowCardinality(String) CODEC(ZSTD(1)),
    services Array(LowCardinality(String)) CODEC(ZSTD(1)),
    start_time DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    end_time DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    duration_ns UInt64 CODEC(T64, ZSTD(1)),
    span_count UInt32,
    error_count UInt32,
    log_count UInt32,
    log_counts Map(LowCardinality(String), UInt32) CODEC(ZSTD(1)),
    first_error_message String CODEC(ZSTD(1)),
    first_error_time DateTime64(9) CODEC(ZSTD(1)),
    first_error_code LowCardinality(String) CODEC(ZSTD(1)),
    gen_ai_input_tokens UInt64,
    gen_ai_output_tokens UInt64,
    log_ids Array(String) CODEC(ZSTD(1)),
    log_ids_dropped UInt32,
    version UInt64,
    INDEX idx_start start_time TYPE minmax GRANULARITY 1,
    INDEX idx_services services TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = ReplacingMergeTree(version)
ORDER BY (trace_id)
${SETTINGS}`;

/**
 * Alert events (processors/records.ts Alert). Ids are deterministic (rule, dedup key, window), and
 * a storm re-emits the same id with a growing `count`: ReplacingMergeTree(count) keeps the latest.
 * Partitioned by the alert's window, which is part of its id, so replacements meet in one partition.
 */
const ALERTS = `
CREATE TABLE IF NOT EXISTS ${TABLES.alerts} (
    id String CODEC(ZSTD(1)),
    issue_code LowCardinality(String) CODEC(ZSTD(1)),
    severity LowCardinality(String) CODEC(ZSTD(1)),
    message String CODEC(ZSTD(1)),
    suggested_fix String CODEC(ZSTD(1)),
    confidence Float32,
    automation_possible Bool,
    automation_action String CODEC(ZSTD(1)),
    related_trace_id String CODEC(ZSTD(1)),
    related_logs Array(String) CODEC(ZSTD(1)),
    created_at DateTime64(3, 'UTC') CODEC(Delta(8), ZSTD(1)),
    created_by LowCardinality(String) CODEC(ZSTD(1)),
    rule_id LowCardinality(String) CODEC(ZSTD(1)),
    service LowCardinality(String) CODEC(ZSTD(1)),
    count UInt32,
    window_start DateTime64(3, 'UTC') CODEC(Delta(8), ZSTD(1))
) ENGINE = ReplacingMergeTree(count)
PARTITION BY toYYYYMM(window_start)
ORDER BY (id)
${SETTINGS}`;

/**
 * The ClickHouse sinks' ledger of their writes (see ../replay-plan.ts and ./progress-ledger.ts): per
 * sink and source partition, each write's offsets, the offset its deduplication token ends at and
 * whether the insert completed. A write is announced (complete = 0) before its insert and confirmed
 * (complete = 1) after it, as further rows; readers aggregate the rows of a write. Plain MergeTree,
 * no deduplication: a repeated ledger row changes nothing after aggregation. Only the writes around
 * the committed offsets matter, so rows expire after a week (whole daily parts, ttl_only_drop_parts).
 */
const SINK_PROGRESS = `
CREATE TABLE IF NOT EXISTS ${TABLES.sinkProgress} (
    sink LowCardinality(String),
    topic LowCardinality(String),
    partition UInt32,
    first_offset UInt64,
    last_offset UInt64,
    token_last_offset UInt64,
    complete UInt8,
    written_at DateTime DEFAULT now()
) ENGINE = MergeTree()
PARTITION BY toDate(written_at)
ORDER BY (sink, topic, partition, first_offset)
TTL written_at + INTERVAL 7 DAY
SETTINGS ttl_only_drop_parts = 1`;

/**
 * Tables that must deduplicate by token even if they were created before StackLens ran (for example
 * by a Collector's exporter, whose DDL has no deduplication window): raised on every start.
 */
const DEDUPLICATED_TABLES = [TABLES.logs, TABLES.traces, TABLES.correlations, TABLES.alerts];

/** The DDL in the order it must run (the view needs both of its tables). */
export const MIGRATIONS: readonly string[] = [
  OTEL_LOGS,
  OTEL_TRACES,
  OTEL_TRACES_TRACE_ID_TS,
  OTEL_TRACES_TRACE_ID_TS_MV,
  CORRELATIONS,
  ALERTS,
  SINK_PROGRESS,
];

/** Idempotent: creates what is missing, leaves existing tables and their data alone. */
export async function migrate(client: ClickHouseClient): Promise<void> {
  for (const statement of MIGRATIONS) await client.command({ query: statement });
  for (const table of DEDUPLICATED_TABLES) {
    await client.command({
      query: `ALTER TABLE {table:Identifier} MODIFY SETTING non_replicated_deduplication_window = ${DEDUPLICATION_WINDOW}`,
      query_params: { table },
    });
  }
}
