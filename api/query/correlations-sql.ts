import { SqlParams, table, where, type BuiltQuery } from './sql';

export const CORRELATIONS_TABLE = 'stacklens_correlations';
/** The per-record parts the view above merges (sinks/clickhouse/migrations.ts). */
export const CORRELATION_PARTS_TABLE = 'stacklens_correlation_parts';

export interface CorrelationFilter {
  traceId?: string;
  service?: string;
  startNanos?: bigint;
  endNanos?: bigint;
}

/** A stacklens_correlations row in the shape of processors/records.ts Correlation (times as ns strings). */
export interface CorrelationRow {
  trace_id: string;
  root_span_id: string;
  root_span_name: string;
  root_service: string;
  services: string[];
  start_time_unix_nano: string;
  end_time_unix_nano: string;
  duration_ns: string;
  span_count: number;
  error_count: number;
  log_count: number;
  log_counts: Record<string, number>;
  first_error_message: string;
  first_error_time_unix_nano: string;
  first_error_code: string;
  gen_ai_input_tokens: string | number;
  gen_ai_output_tokens: string | number;
  log_ids: string[];
  log_ids_dropped: number;
  version: string | number;
}

/**
 * Each trace's correlation, most recent traces first: the stacklens_correlations view merges the
 * trace's parts. The traces are first narrowed on the parts table (a trace's start is one of its
 * parts' start, and a listed service one of its parts' service), so the view merges only those;
 * the exact filters then apply to the merged rows.
 */
export function buildCorrelationsQuery(
  database: string,
  filter: CorrelationFilter,
  limit: number,
): BuiltQuery {
  const p = new SqlParams();
  const parts: string[] = [];
  const c: string[] = [];
  if (filter.traceId !== undefined) {
    const traceId = p.bind('String', filter.traceId);
    parts.push(`trace_id = ${traceId}`);
    c.push(`trace_id = ${traceId}`);
  }
  if (filter.service !== undefined) {
    const service = p.bind('String', filter.service);
    parts.push(`service = ${service}`);
    c.push(`has(services, ${service})`);
  }
  if (filter.startNanos !== undefined) {
    const start = `fromUnixTimestamp64Nano(${p.bind('Int64', filter.startNanos)})`;
    parts.push(`part_start >= ${start}`);
    c.push(`start_time >= ${start}`);
  }
  if (filter.endNanos !== undefined) {
    const end = `fromUnixTimestamp64Nano(${p.bind('Int64', filter.endNanos)})`;
    parts.push(`part_start <= ${end}`);
    c.push(`start_time <= ${end}`);
  }
  if (parts.length > 0) {
    c.unshift(
      `trace_id IN (SELECT trace_id FROM ${table(database, CORRELATION_PARTS_TABLE)} ${where(parts)})`,
    );
  }
  const query = `SELECT
  trace_id, root_span_id, root_span_name, root_service, services,
  toString(toUnixTimestamp64Nano(start_time)) AS start_time_unix_nano,
  toString(toUnixTimestamp64Nano(end_time)) AS end_time_unix_nano,
  toString(duration_ns) AS duration_ns,
  span_count, error_count, log_count, log_counts,
  first_error_message,
  toString(toUnixTimestamp64Nano(first_error_time)) AS first_error_time_unix_nano,
  first_error_code, gen_ai_input_tokens, gen_ai_output_tokens, log_ids, log_ids_dropped, version
FROM ${table(database, CORRELATIONS_TABLE)}
${where(c)}
ORDER BY start_time DESC, trace_id ASC
LIMIT ${p.bind('UInt32', limit)}`;
  return { query, params: p.values };
}
