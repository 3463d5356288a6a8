/**
 * The OpenTelemetry Collector ClickHouse exporter's tables, rendered the way the exporter renders them
 * (opentelemetry-collector-contrib exporter/clickhouseexporter, internal/sqltemplates/logs_table.sql,
 * traces_table.sql, traces_id_ts_lookup_table.sql and _mv.sql, and the TTL of internal.GenerateTTLExpr),
 * so that Grafana's ClickHouse data source reads them in its OTel mode and a Collector writing to the
 * same database finds the tables it would have created. Pure: no I/O.
 *
 * The one difference from the exporter's statements: the exporter names tables with their database
 * (`db`.`table`); StackLens names them unqualified, and the client resolves them to its database.
 */

/** The first ClickHouse version whose `text()` indexes the exporter uses (versionFullTextSearch). */
export const FULL_TEXT_SEARCH_VERSION = { major: 26, minor: 2 } as const;

/** True when `version` (as `SELECT version()` prints it, e.g. "26.7.2.1") is 26.2 or later. */
export function hasFullTextSearch(version: string): boolean {
  const match = /^(\d+)\.(\d+)/.exec(version.trim());
  if (match === null) return false;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  return (
    major > FULL_TEXT_SEARCH_VERSION.major ||
    (major === FULL_TEXT_SEARCH_VERSION.major && minor >= FULL_TEXT_SEARCH_VERSION.minor)
  );
}

/**
 * The exporter's TTL clause for a retention of whole days (GenerateTTLExpr with a duration that is a
 * multiple of 24 h): `TTL <time> + toIntervalDay(n)`, or nothing for 0 (keep forever).
 */
export function ttlClause(days: number, timeExpression: string): string {
  if (!Number.isInteger(days) || days < 0)
    throw new RangeError(`retention must be whole days ≥ 0, got ${days}`);
  return days === 0 ? '' : `TTL ${timeExpression} + toIntervalDay(${days})`;
}

/** Resource attributes the exporter materializes into columns of otel_logs, in its order. */
export const MATERIALIZED_RESOURCE_ATTRIBUTES = [
  'k8s.cluster.name',
  'k8s.container.name',
  'k8s.deployment.name',
  'k8s.namespace.name',
  'k8s.node.name',
  'k8s.pod.name',
  'k8s.pod.uid',
  'deployment.environment.name',
] as const;

export interface OtelTableOptions {
  /** Unqualified table name. */
  table: string;
  /** ClickHouse ≥ 26.2: text() indexes instead of bloom filters, as the exporter chooses. */
  fullTextSearch: boolean;
  /** Retention in days; 0 keeps rows forever (the exporter's default `ttl: 0`). */
  ttlDays: number;
  /** Columns appended after the exporter's (StackLens' own), each a full column definition. */
  extraColumns?: readonly string[];
  /** Indexes appended after the exporter's, each a full `INDEX …` definition. */
  extraIndexes?: readonly string[];
  /** Settings appended to the exporter's `index_granularity = 8192, ttl_only_drop_parts = 1`. */
  extraSettings?: string;
}

const EXPORTER_SETTINGS = 'index_granularity = 8192, ttl_only_drop_parts = 1';

function settings(extra: string | undefined): string {
  return `SETTINGS ${EXPORTER_SETTINGS}${extra === undefined ? '' : `, ${extra}`}`;
}

function body(columns: readonly string[], indexes: readonly string[]): string {
  return [...columns, ...indexes].map((line) => `    ${line}`).join(',\n');
}

/** otel_logs (logs_table.sql): no TimestampTime, partitioned and sorted by Timestamp. */
export function otelLogsTable(o: OtelTableOptions): string {
  const columns = [
    "`Timestamp` DateTime64(9) COMMENT 'Event timestamp with nanosecond precision' CODEC(Delta(8), ZSTD(1))",
    "`TraceId` String COMMENT 'W3C trace identifier' CODEC(ZSTD(1))",
    "`SpanId` String COMMENT 'W3C span identifier' CODEC(ZSTD(1))",
    "`TraceFlags` UInt8 COMMENT 'W3C trace flags'",
    "`SeverityText` LowCardinality(String) COMMENT 'Log severity as text' CODEC(ZSTD(1))",
    "`SeverityNumber` UInt8 COMMENT 'Log severity as number (1-24)'",
    "`ServiceName` LowCardinality(String) COMMENT 'Service that emitted the log' CODEC(ZSTD(1))",
    "`Body` String COMMENT 'Log message body' CODEC(ZSTD(1))",
    "`ResourceSchemaUrl` LowCardinality(String) COMMENT 'Schema URL for the resource' CODEC(ZSTD(1))",
    "`ResourceAttributes` Map(LowCardinality(String), String) COMMENT 'Resource attributes as key-value pairs' CODEC(ZSTD(1))",
    "`ScopeSchemaUrl` LowCardinality(String) COMMENT 'Schema URL for the instrumentation scope' CODEC(ZSTD(1))",
    "`ScopeName` String COMMENT 'Instrumentation scope name' CODEC(ZSTD(1))",
    "`ScopeVersion` LowCardinality(String) COMMENT 'Instrumentation scope version' CODEC(ZSTD(1))",
    "`ScopeAttributes` Map(LowCardinality(String), String) COMMENT 'Instrumentation scope attributes' CODEC(ZSTD(1))",
    "`LogAttributes` Map(LowCardinality(String), String) COMMENT 'Log record attributes' CODEC(ZSTD(1))",
    "`EventName` String COMMENT 'Event name for log records representing events' CODEC(ZSTD(1))",
    ...MATERIALIZED_RESOURCE_ATTRIBUTES.map(
      (key) =>
        `\`__otel_materialized_${key}\` LowCardinality(String) MATERIALIZED ResourceAttributes['${key}'] CODEC(ZSTD(1))`,
    ),
    ...(o.extraColumns ?? []),
  ];
  const indexes = o.fullTextSearch
    ? [
        "INDEX idx_trace_id TraceId TYPE text(tokenizer = 'array')",
        "INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE text(tokenizer = 'array')",
        "INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE text(tokenizer = 'array')",
        "INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE text(tokenizer = 'array')",
        "INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE text(tokenizer = 'array')",
        "INDEX idx_log_attr_key mapKeys(LogAttributes) TYPE text(tokenizer = 'array')",
        "INDEX idx_log_attr_value mapValues(LogAttributes) TYPE text(tokenizer = 'array')",
        "INDEX idx_lower_body lower(Body) TYPE text(tokenizer = 'splitByNonAlpha')",
      ]
    : [
        'INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1',
        'INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1',
        'INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1',
        'INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1',
        'INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1',
        'INDEX idx_log_attr_key mapKeys(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1',
        'INDEX idx_log_attr_value mapValues(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1',
        'INDEX idx_lower_body lower(Body) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8',
      ];
  return `CREATE TABLE IF NOT EXISTS \`${o.table}\` (
${body(columns, [...indexes, ...(o.extraIndexes ?? [])])}
) ENGINE = MergeTree()
PARTITION BY toDate(Timestamp)
ORDER BY (toStartOfFiveMinutes(Timestamp), ServiceName, Timestamp)
${ttlClause(o.ttlDays, 'toDateTime(Timestamp)')}
${settings(o.extraSettings)}`;
}

/** otel_traces (traces_table.sql), with idx_lower_span_name. */
export function otelTracesTable(o: OtelTableOptions): string {
  const columns = [
    'Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1))',
    'TraceId String CODEC(ZSTD(1))',
    'SpanId String CODEC(ZSTD(1))',
    'ParentSpanId String CODEC(ZSTD(1))',
    'TraceState String CODEC(ZSTD(1))',
    'SpanName LowCardinality(String) CODEC(ZSTD(1))',
    'SpanKind LowCardinality(String) CODEC(ZSTD(1))',
    'ServiceName LowCardinality(String) CODEC(ZSTD(1))',
    'ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1))',
    'ScopeName String CODEC(ZSTD(1))',
    'ScopeVersion String CODEC(ZSTD(1))',
    'SpanAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1))',
    'Duration UInt64 CODEC(T64, ZSTD(1))',
    'StatusCode LowCardinality(String) CODEC(ZSTD(1))',
    'StatusMessage String CODEC(ZSTD(1))',
    'Events Nested (\n        Timestamp DateTime64(9),\n        Name LowCardinality(String),\n        Attributes Map(LowCardinality(String), String)\n    ) CODEC(ZSTD(1))',
    'Links Nested (\n        TraceId String,\n        SpanId String,\n        TraceState String,\n        Attributes Map(LowCardinality(String), String)\n    ) CODEC(ZSTD(1))',
    "ResourceAttributeItems Array(String) ALIAS arrayMap(kv -> concat(kv.1, '=', kv.2), CAST(ResourceAttributes, 'Array(Tuple(String, String))'))",
    "SpanAttributeItems Array(String) ALIAS arrayMap(kv -> concat(kv.1, '=', kv.2), CAST(SpanAttributes, 'Array(Tuple(String, String))'))",
    ...(o.extraColumns ?? []),
  ];
  const indexes = [
    ...(o.fullTextSearch
      ? [
          "INDEX idx_trace_id TraceId TYPE text(tokenizer = 'array')",
          "INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE text(tokenizer = 'array')",
          "INDEX idx_res_attr_items ResourceAttributeItems TYPE text(tokenizer = 'array')",
          "INDEX idx_span_attr_key mapKeys(SpanAttributes) TYPE text(tokenizer = 'array')",
          "INDEX idx_span_attr_items SpanAttributeItems TYPE text(tokenizer = 'array')",
        ]
      : [
          'INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1',
          'INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1',
          'INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1',
          'INDEX idx_span_attr_key mapKeys(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1',
          'INDEX idx_span_attr_value mapValues(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1',
        ]),
    'INDEX idx_duration Duration TYPE minmax GRANULARITY 1',
    'INDEX idx_lower_span_name lower(SpanName) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8',
    ...(o.extraIndexes ?? []),
  ];
  return `CREATE TABLE IF NOT EXISTS \`${o.table}\` (
${body(columns, indexes)}
) ENGINE = MergeTree()
PARTITION BY toDate(Timestamp)
PRIMARY KEY (ServiceName, SpanName, toDateTime(Timestamp))
ORDER BY (ServiceName, SpanName, toDateTime(Timestamp), Timestamp)
${ttlClause(o.ttlDays, 'toDateTime(Timestamp)')}
${settings(o.extraSettings)}`;
}

/**
 * The trace-id → time-range lookup (traces_id_ts_lookup_table.sql) that Grafana uses to bound a
 * trace-by-id query to the partitions holding it; its TTL follows the traces' (on `Start`).
 */
export function otelTraceIdTsTable(o: { table: string; ttlDays: number }): string {
  return `CREATE TABLE IF NOT EXISTS \`${o.table}\` (
    TraceId String CODEC(ZSTD(1)),
    Start SimpleAggregateFunction(min, DateTime) CODEC(ZSTD(1)),
    End SimpleAggregateFunction(max, DateTime) CODEC(ZSTD(1))
) ENGINE = AggregatingMergeTree()
PARTITION BY toStartOfWeek(Start)
ORDER BY (TraceId)
${ttlClause(o.ttlDays, 'toDateTime(Start)')}
${settings(undefined)}`;
}

/** The view filling the lookup (traces_id_ts_lookup_mv.sql). */
export function otelTraceIdTsView(o: { view: string; table: string; source: string }): string {
  return `CREATE MATERIALIZED VIEW IF NOT EXISTS \`${o.view}\`
TO \`${o.table}\`
AS SELECT
    TraceId,
    min(Timestamp) as Start,
    max(Timestamp) as End
FROM \`${o.source}\`
WHERE TraceId != ''
GROUP BY TraceId`;
}
