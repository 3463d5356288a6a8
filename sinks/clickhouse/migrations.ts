import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from '../../common/logger';
import {
  hasFullTextSearch,
  otelLogsTable,
  otelTraceIdTsTable,
  otelTraceIdTsView,
  otelTracesTable,
  ttlClause,
} from './otel-schema';
import { MAX_CORRELATION_LOG_IDS, MAX_CORRELATION_SERVICES } from '../../processors/records';
import { PATTERN_MIGRATIONS } from './pattern-tables';

/** Table names; unqualified, so they resolve to the client's database (see ./client.ts). */
export const TABLES = {
  logs: 'otel_logs',
  traces: 'otel_traces',
  traceIdTimestamps: 'otel_traces_trace_id_ts',
  traceIdTimestampsView: 'otel_traces_trace_id_ts_mv',
  correlations: 'stacklens_correlations',
  correlationParts: 'stacklens_correlation_parts',
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

/**
 * What each log and span adds to its trace's correlation (processors/correlate/part.ts), one row per
 * record. Keyed by the record's identity, so a record processed again (a replay, a retry) collapses
 * with its first row, and a late record adds its part whenever it comes: nothing is lost, nothing
 * counted twice. Not partitioned by time: rows only replace each other within one partition.
 */
const correlationParts = (ttl: string) => `
CREATE TABLE IF NOT EXISTS ${TABLES.correlationParts} (
    trace_id String CODEC(ZSTD(1)),
    kind LowCardinality(String),
    record_id String CODEC(ZSTD(1)),
    part_start DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    part_end DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    service LowCardinality(String) CODEC(ZSTD(1)),
    service_listed UInt8,
    is_root UInt8,
    root_span_name String CODEC(ZSTD(1)),
    level LowCardinality(String),
    is_error UInt8,
    error_time DateTime64(9) CODEC(ZSTD(1)),
    error_message String CODEC(ZSTD(1)),
    error_code LowCardinality(String) CODEC(ZSTD(1)),
    input_tokens UInt64,
    output_tokens UInt64,
    INDEX idx_part_start part_start TYPE minmax GRANULARITY 1,
    INDEX idx_service service TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = ReplacingMergeTree
ORDER BY (trace_id, kind, record_id)
${ttl}
${SETTINGS}`;

const LOG_LEVELS = ['unspecified', 'trace', 'debug', 'info', 'warn', 'error', 'fatal'];

/**
 * One row per trace (processors/records.ts Correlation): its parts merged by the rules of
 * processors/correlate (foldSpan/foldLog): the root is the root span with the smallest id, times are
 * the smallest non-zero start and the largest end, the first error is the earliest (ties by message,
 * then code), services and log ids are the smallest 128 / 1000. FINAL drops parts not yet collapsed
 * by a merge. A filter on trace_id reaches the parts' primary key.
 */
const CORRELATIONS = `
CREATE VIEW IF NOT EXISTS ${TABLES.correlations} AS
SELECT
    trace_id,
    minIf(record_id, is_root = 1) AS root_span_id,
    argMinIf(root_span_name, record_id, is_root = 1) AS root_span_name,
    argMinIf(service, record_id, is_root = 1) AS root_service,
    arraySlice(arraySort(groupUniqArrayIf(service, service_listed = 1)), 1, ${MAX_CORRELATION_SERVICES}) AS services,
    minIf(part_start, toUnixTimestamp64Nano(part_start) != 0) AS start_time,
    max(part_end) AS end_time,
    if(toUnixTimestamp64Nano(start_time) = 0, toUInt64(0),
       toUInt64(greatest(toUnixTimestamp64Nano(end_time) - toUnixTimestamp64Nano(start_time), 0))) AS duration_ns,
    toUInt32(countIf(kind = 'span')) AS span_count,
    toUInt32(countIf(is_error = 1)) AS error_count,
    toUInt32(countIf(kind = 'log')) AS log_count,
    map(${LOG_LEVELS.map((l) => `'${l}', toUInt32(countIf(kind = 'log' AND level = '${l}'))`).join(', ')}) AS log_counts,
    argMinIf(tuple(error_message, error_code, error_time), tuple(error_time, error_message, error_code), is_error = 1) AS first_error,
    tupleElement(first_error, 1) AS first_error_message,
    tupleElement(first_error, 3) AS first_error_time,
    tupleElement(first_error, 2) AS first_error_code,
    sum(input_tokens) AS gen_ai_input_tokens,
    sum(output_tokens) AS gen_ai_output_tokens,
    arraySlice(arraySort(groupArrayIf(record_id, kind = 'log')), 1, ${MAX_CORRELATION_LOG_IDS}) AS log_ids,
    toUInt32(log_count - length(log_ids)) AS log_ids_dropped,
    toUInt64(count()) AS version
FROM ${TABLES.correlationParts} FINAL
GROUP BY trace_id`;

/**
 * Alert events (processors/records.ts Alert). Ids are deterministic (rule, dedup key, window), and
 * a storm re-emits the same id with a growing `count`: ReplacingMergeTree(count) keeps the latest.
 * Partitioned by the alert's window, which is part of its id, so replacements meet in one partition.
 */
const alerts = (ttl: string) => `
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
${ttl}
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

/** Retention per table family in days; 0 keeps rows forever. */
export interface RetentionDays {
  /** otel_logs */
  logs: number;
  /** otel_traces and its trace-id lookup */
  traces: number;
  /** stacklens_correlation_parts (by each part's start; whole parts only, as ttl_only_drop_parts says) */
  correlations: number;
  /** stacklens_alerts (by window_start) */
  alerts: number;
}

export const KEEP_FOREVER: RetentionDays = { logs: 0, traces: 0, correlations: 0, alerts: 0 };

export interface SchemaOptions {
  /** ClickHouse ≥ 26.2 (the exporter's text() indexes); see ./otel-schema.ts hasFullTextSearch. */
  fullTextSearch: boolean;
  retention: RetentionDays;
}

/** StackLens' own columns on otel_logs: the record id correlations and alerts cite, and the error code. */
const LOG_COLUMNS = [
  'StackLensRecordId String CODEC(ZSTD(1))',
  'StackLensErrorCode LowCardinality(String) CODEC(ZSTD(1))',
] as const;
const LOG_INDEX = 'INDEX idx_stacklens_record_id StackLensRecordId TYPE bloom_filter(0.001) GRANULARITY 1';
/** StackLens' own column on otel_traces: the error code enrichment classified. */
const TRACE_COLUMNS = ['StackLensErrorCode LowCardinality(String) CODEC(ZSTD(1))'] as const;
const DEDUPLICATION_SETTING = `non_replicated_deduplication_window = ${DEDUPLICATION_WINDOW}`;

/**
 * Every CREATE statement, in the order it must run (the view needs both of its tables). otel_logs
 * and otel_traces are the exporter's tables (./otel-schema.ts) plus StackLens' own columns, which
 * readers that do not know them ignore, and the deduplication window the sinks' tokens need.
 */
export function schemaStatements(options: SchemaOptions): readonly string[] {
  const { fullTextSearch, retention } = options;
  return [
    otelLogsTable({
      table: TABLES.logs,
      fullTextSearch,
      ttlDays: retention.logs,
      extraColumns: LOG_COLUMNS,
      extraIndexes: [LOG_INDEX],
      extraSettings: DEDUPLICATION_SETTING,
    }),
    otelTracesTable({
      table: TABLES.traces,
      fullTextSearch,
      ttlDays: retention.traces,
      extraColumns: TRACE_COLUMNS,
      extraSettings: DEDUPLICATION_SETTING,
    }),
    otelTraceIdTsTable({ table: TABLES.traceIdTimestamps, ttlDays: retention.traces }),
    otelTraceIdTsView({
      view: TABLES.traceIdTimestampsView,
      table: TABLES.traceIdTimestamps,
      source: TABLES.traces,
    }),
    correlationParts(ttlClause(retention.correlations, 'toDateTime(part_start)')),
    CORRELATIONS,
    alerts(ttlClause(retention.alerts, 'toDateTime(window_start)')),
    SINK_PROGRESS,
    ...PATTERN_MIGRATIONS,
  ];
}

export interface MigrateOptions {
  retention?: RetentionDays;
  /** Where changes to existing tables are reported; without it they are made silently. */
  logger?: Logger;
}

interface TableFacts {
  columns: Set<string>;
  sortingKey: string;
  engineFull: string;
}

async function tableFacts(client: ClickHouseClient, table: string): Promise<TableFacts | undefined> {
  const tables = await (
    await client.query({
      query:
        'SELECT sorting_key, engine_full FROM system.tables WHERE database = currentDatabase() AND name = {table:String}',
      query_params: { table },
      format: 'JSONEachRow',
    })
  ).json<{ sorting_key: string; engine_full: string }>();
  const found = tables[0];
  if (found === undefined) return undefined;
  const columns = await (
    await client.query({
      query: 'SELECT name FROM system.columns WHERE database = currentDatabase() AND table = {table:String}',
      query_params: { table },
      format: 'JSONEachRow',
    })
  ).json<{ name: string }>();
  return {
    columns: new Set(columns.map((c) => c.name)),
    sortingKey: found.sorting_key,
    engineFull: found.engine_full,
  };
}

async function serverVersion(client: ClickHouseClient): Promise<string> {
  const rows = await (
    await client.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' })
  ).json<{
    v: string;
  }>();
  return rows[0]?.v ?? '';
}

/** The table's TTL clause as ClickHouse keeps it in engine_full, or '' without one. */
function currentTtl(engineFull: string): string {
  const match = /\bTTL (.*?)(?: SETTINGS |$)/.exec(engineFull);
  return match?.[1] === undefined ? '' : `TTL ${match[1]}`;
}

/**
 * Idempotent: creates what is missing and leaves existing data alone. On tables that exist already:
 *
 * - **Created by StackLens** (they have its columns): an older version's `TimestampTime` column on
 *   otel_logs is dropped (it made Grafana's ClickHouse data source use its older schema mode and filter
 *   on a column that prunes nothing, grafana/clickhouse-datasource#2103), and a changed retention is
 *   applied with MODIFY TTL (parts written before the change get it when they merge).
 * - **Created by someone else** (a Collector's exporter): only metadata changes, each said in the log —
 *   StackLens' columns and record-id index are added (ADD COLUMN writes no data: existing rows read
 *   the defaults) and the deduplication window is raised; its sorting key, TTL and columns are never
 *   rewritten, and a retention or a `TimestampTime` that differs from StackLens' is only reported.
 */
export async function migrate(client: ClickHouseClient, options: MigrateOptions = {}): Promise<void> {
  const retention = options.retention ?? KEEP_FOREVER;
  const log = options.logger?.child({ component: 'clickhouse-migrations' });
  await moveReplacedCorrelations(client, log);
  const fullTextSearch = hasFullTextSearch(await serverVersion(client));
  const before = new Map<string, TableFacts | undefined>();
  const existing = [
    TABLES.logs,
    TABLES.traces,
    TABLES.traceIdTimestamps,
    TABLES.correlationParts,
    TABLES.alerts,
  ];
  for (const table of existing) before.set(table, await tableFacts(client, table));

  for (const statement of schemaStatements({ fullTextSearch, retention })) {
    await client.command({ query: statement });
  }

  await adoptTable(client, {
    table: TABLES.logs,
    facts: before.get(TABLES.logs),
    ownColumns: LOG_COLUMNS,
    ownIndex: LOG_INDEX,
    ttl: ttlClause(retention.logs, 'toDateTime(Timestamp)'),
    log,
  });
  const tracesOwned = await adoptTable(client, {
    table: TABLES.traces,
    facts: before.get(TABLES.traces),
    ownColumns: TRACE_COLUMNS,
    ttl: ttlClause(retention.traces, 'toDateTime(Timestamp)'),
    log,
  });
  // The lookup belongs with otel_traces: whoever created one created the other.
  const retained: [string, string, boolean][] = [
    [TABLES.traceIdTimestamps, ttlClause(retention.traces, 'toDateTime(Start)'), tracesOwned],
    [TABLES.correlationParts, ttlClause(retention.correlations, 'toDateTime(part_start)'), true],
    [TABLES.alerts, ttlClause(retention.alerts, 'toDateTime(window_start)'), true],
  ];
  for (const [table, ttl, owned] of retained) {
    const facts = before.get(table);
    if (facts !== undefined) await applyRetention(client, { table, facts, ttl, owned, log });
  }
  for (const table of [TABLES.correlationParts, TABLES.alerts]) {
    await client.command({
      query: `ALTER TABLE {table:Identifier} MODIFY SETTING ${DEDUPLICATION_SETTING}`,
      query_params: { table },
    });
  }
}

/**
 * Where a stacklens_correlations table of an earlier version (one ReplacingMergeTree row per trace)
 * is moved, so that the view of the same name can take its place; its rows are kept, not read.
 */
export const REPLACED_CORRELATIONS_TABLE = 'stacklens_correlations_replaced';

async function moveReplacedCorrelations(client: ClickHouseClient, log: Logger | undefined): Promise<void> {
  const result = await client.query({
    query: 'SELECT engine FROM system.tables WHERE database = currentDatabase() AND name = {name:String}',
    query_params: { name: TABLES.correlations },
    format: 'JSONEachRow',
  });
  const [existing] = await result.json<{ engine: string }>();
  if (existing === undefined || existing.engine === 'View') return;
  log?.warn(
    { table: TABLES.correlations, to: REPLACED_CORRELATIONS_TABLE },
    'moving the correlations table of an earlier version aside: correlations are now parts merged by a view',
  );
  await client.command({
    query: 'RENAME TABLE {from:Identifier} TO {to:Identifier}',
    query_params: { from: TABLES.correlations, to: REPLACED_CORRELATIONS_TABLE },
  });
}

interface AdoptOptions {
  table: string;
  /** The table as it was before this migration; undefined if this migration created it. */
  facts: TableFacts | undefined;
  ownColumns: readonly string[];
  ownIndex?: string;
  ttl: string;
  log: Logger | undefined;
}

/** Adapts an existing otel_* table (see migrate); true if StackLens created it (or just did). */
async function adoptTable(client: ClickHouseClient, o: AdoptOptions): Promise<boolean> {
  if (o.facts === undefined) return true; // created just now, from schemaStatements
  const names = o.ownColumns.map((c) => c.split(' ')[0]!);
  const missing = o.ownColumns.filter((_column, i) => !o.facts!.columns.has(names[i]!));
  const ownedByStackLens = missing.length === 0;
  const alter = (clause: string) =>
    client.command({ query: `ALTER TABLE {table:Identifier} ${clause}`, query_params: { table: o.table } });

  if (!ownedByStackLens) {
    o.log?.info(
      { table: o.table, columns: missing.map((c) => c.split(' ')[0]) },
      'table was not created by StackLens (a Collector exporter?): adding StackLens columns and index as metadata only, no data is rewritten',
    );
    await alter(missing.map((column) => `ADD COLUMN IF NOT EXISTS ${column}`).join(', '));
    if (o.ownIndex !== undefined) {
      await alter(`ADD ${o.ownIndex.replace(/^INDEX /, 'INDEX IF NOT EXISTS ')}`);
    }
  }

  // The sinks' deduplication tokens need a window; a metadata change on any table.
  if (!ownedByStackLens && !o.facts.engineFull.includes(DEDUPLICATION_SETTING)) {
    o.log?.info(
      { table: o.table, setting: DEDUPLICATION_SETTING },
      'raising the insert deduplication window',
    );
  }
  await alter(`MODIFY SETTING ${DEDUPLICATION_SETTING}`);

  if (o.facts.columns.has('TimestampTime')) {
    if (ownedByStackLens && !o.facts.sortingKey.includes('TimestampTime')) {
      o.log?.warn(
        { table: o.table },
        'dropping TimestampTime, which an older StackLens added: Grafana then reads the table in its current OTel schema mode',
      );
      await alter('DROP COLUMN IF EXISTS TimestampTime');
    } else {
      o.log?.warn(
        { table: o.table },
        'table has TimestampTime (exporter before v0.151): Grafana reads it in its OTel 1.2.9 schema mode; left as is',
      );
    }
  }

  await applyRetention(client, {
    table: o.table,
    facts: o.facts,
    ttl: o.ttl,
    owned: ownedByStackLens,
    log: o.log,
  });
  return ownedByStackLens;
}

/**
 * Brings an existing table's TTL to the configured one if StackLens owns the table (MODIFY TTL without
 * materializing: parts written before get it as they merge); on another's table only reports it.
 */
async function applyRetention(
  client: ClickHouseClient,
  o: { table: string; facts: TableFacts; ttl: string; owned: boolean; log: Logger | undefined },
): Promise<void> {
  const ttl = currentTtl(o.facts.engineFull);
  if (ttl === o.ttl) return;
  if (!o.owned) {
    o.log?.warn(
      { table: o.table, current: ttl, configured: o.ttl },
      'retention of a table StackLens did not create is left as is',
    );
    return;
  }
  o.log?.info({ table: o.table, from: ttl, to: o.ttl }, 'changing the table retention');
  await client.command({
    query: `ALTER TABLE {table:Identifier} ${o.ttl === '' ? 'REMOVE TTL' : `MODIFY ${o.ttl}`}`,
    query_params: { table: o.table },
    clickhouse_settings: { materialize_ttl_after_modify: 0 },
  });
}
