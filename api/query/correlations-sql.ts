import { SqlParams, table, where, type BuiltQuery } from './sql';

export const CORRELATIONS_TABLE = 'stacklens_correlations';

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
 * Latest state of each trace's correlation, most recent traces first. The table is a ReplacingMergeTree
 * (one row per trace, highest `version` wins); FINAL applies that before filtering.
 */
export function buildCorrelationsQuery(
  database: string,
  filter: CorrelationFilter,
  limit: number,
): BuiltQuery {
  const p = new SqlParams();
  const c: string[] = [];
  if (filter.traceId !== undefined) c.push(`trace_id = ${p.bind('String', filter.traceId)}`);
  if (filter.service !== undefined) c.push(`has(services, ${p.bind('String', filter.service)})`);
  if (filter.startNanos !== undefined)
    c.push(`start_time >= fromUnixTimestamp64Nano(${p.bind('Int64', filter.startNanos)})`);
  if (filter.endNanos !== undefined)
    c.push(`start_time <= fromUnixTimestamp64Nano(${p.bind('Int64', filter.endNanos)})`);
  const query = `SELECT
  trace_id, root_span_id, root_span_name, root_service, services,
  toString(toUnixTimestamp64Nano(start_time)) AS start_time_unix_nano,
  toString(toUnixTimestamp64Nano(end_time)) AS end_time_unix_nano,
  toString(duration_ns) AS duration_ns,
  span_count, error_count, log_count, log_counts,
  first_error_message,
  toString(toUnixTimestamp64Nano(first_error_time)) AS first_error_time_unix_nano,
  first_error_code, gen_ai_input_tokens, gen_ai_output_tokens, log_ids, log_ids_dropped, version
FROM ${table(database, CORRELATIONS_TABLE)} FINAL
${where(c)}
ORDER BY start_time DESC, trace_id ASC
LIMIT ${p.bind('UInt32', limit)}`;
  return { query, params: p.values };
}
