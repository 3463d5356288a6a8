import { LOGS_TABLE } from './logs-sql';
import { SqlParams, table, type BuiltQuery } from './sql';
import { TRACES_TABLE } from './traces-sql';

export interface ServiceRow {
  service: string;
  log_count: string | number;
  error_log_count: string | number;
  span_count: string | number;
  error_span_count: string | number;
  last_seen_unix_nano: string;
}

/** OTel severity number from which a log counts as an error (ERROR..FATAL). */
export const ERROR_SEVERITY = 17;

/** Per-service activity over [start, end]: log and span counts, errors among them, last record time. */
export function buildServicesQuery(database: string, startNanos: bigint, endNanos: bigint): BuiltQuery {
  const p = new SqlParams();
  const start = p.bind('Int64', startNanos);
  const end = p.bind('Int64', endNanos);
  const range = `Timestamp >= fromUnixTimestamp64Nano(${start}) AND Timestamp <= fromUnixTimestamp64Nano(${end})`;
  const query = `SELECT
  service,
  sum(logs) AS log_count,
  sum(log_errors) AS error_log_count,
  sum(spans) AS span_count,
  sum(span_errors) AS error_span_count,
  toString(max(last_seen)) AS last_seen_unix_nano
FROM (
  SELECT ServiceName AS service, count() AS logs, countIf(SeverityNumber >= ${ERROR_SEVERITY}) AS log_errors,
    toUInt64(0) AS spans, toUInt64(0) AS span_errors, max(toUnixTimestamp64Nano(Timestamp)) AS last_seen
  FROM ${table(database, LOGS_TABLE)} WHERE ${range} GROUP BY ServiceName
  UNION ALL
  SELECT ServiceName AS service, toUInt64(0), toUInt64(0), count(),
    countIf(toString(StatusCode) IN ('Error', 'STATUS_CODE_ERROR')), max(toUnixTimestamp64Nano(Timestamp))
  FROM ${table(database, TRACES_TABLE)} WHERE ${range} GROUP BY ServiceName
)
GROUP BY service
ORDER BY service`;
  return { query, params: p.values };
}
