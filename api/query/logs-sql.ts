import type { LogCursor } from './cursor';
import { WORKFLOW_ID_KEYS, type LogFilter } from './log-filter';
import { SqlParams, table, where, type BuiltQuery } from './sql';

export const LOGS_TABLE = 'otel_logs';

/**
 * Tie-breaker among rows with the same Timestamp: the record id the sink writes (unique per record), or for
 * rows written by something else (a Collector exporter) a hash of the row's content. Both are stable across
 * merges and replicas, which is what keyset pagination needs.
 */
export const LOG_ROW_KEY =
  "if(StackLensRecordId != '', StackLensRecordId, toString(sipHash64(ServiceName, TraceId, SpanId, SeverityNumber, Body, LogAttributes, ResourceAttributes)))";

/** Columns of a log row as the API returns them (collector schema → snake_case, ns times as strings). */
const LOG_COLUMNS = `toString(toUnixTimestamp64Nano(Timestamp)) AS time_unix_nano,
  ${LOG_ROW_KEY} AS row_key,
  StackLensRecordId AS id,
  StackLensErrorCode AS error_code,
  TraceId AS trace_id,
  SpanId AS span_id,
  SeverityText AS severity_text,
  SeverityNumber AS severity_number,
  ServiceName AS service,
  Body AS body,
  ResourceAttributes AS resource_attributes,
  ScopeAttributes AS scope_attributes,
  LogAttributes AS log_attributes`;

export interface LogRow {
  time_unix_nano: string;
  row_key: string;
  id: string;
  error_code: string;
  trace_id: string;
  span_id: string;
  severity_text: string;
  severity_number: number;
  service: string;
  body: string;
  resource_attributes: Record<string, string>;
  scope_attributes: Record<string, string>;
  log_attributes: Record<string, string>;
}

export function logConditions(filter: LogFilter, p: SqlParams): string[] {
  const c: string[] = [];
  if (filter.service !== undefined) c.push(`ServiceName = ${p.bind('String', filter.service)}`);
  if (filter.minSeverity !== undefined) c.push(`SeverityNumber >= ${p.bind('UInt8', filter.minSeverity)}`);
  if (filter.traceId !== undefined) c.push(`TraceId = ${p.bind('String', filter.traceId)}`);
  if (filter.spanId !== undefined) c.push(`SpanId = ${p.bind('String', filter.spanId)}`);
  if (filter.workflowId !== undefined) {
    const keys = WORKFLOW_ID_KEYS.flatMap((k) => [`LogAttributes['${k}']`, `ResourceAttributes['${k}']`]);
    c.push(`${p.bind('String', filter.workflowId)} IN (${keys.join(', ')})`);
  }
  if (filter.text !== undefined)
    c.push(`positionCaseInsensitiveUTF8(Body, ${p.bind('String', filter.text)}) > 0`);
  if (filter.startNanos !== undefined)
    c.push(`Timestamp >= fromUnixTimestamp64Nano(${p.bind('Int64', filter.startNanos)})`);
  if (filter.endNanos !== undefined)
    c.push(`Timestamp <= fromUnixTimestamp64Nano(${p.bind('Int64', filter.endNanos)})`);
  for (const [name, value] of filter.attributes) {
    const key = p.bind('String', name);
    const val = p.bind('String', value);
    c.push(
      `(LogAttributes[${key}] = ${val} OR (NOT mapContains(LogAttributes, ${key}) AND ResourceAttributes[${key}] = ${val}))`,
    );
  }
  return c;
}

/** A page of logs, newest first; asks for `limit + 1` rows so the caller knows whether a next page exists. */
export function buildLogsQuery(
  database: string,
  filter: LogFilter,
  limit: number,
  cursor?: LogCursor,
): BuiltQuery {
  const p = new SqlParams();
  const c = logConditions(filter, p);
  if (cursor !== undefined) {
    c.push(
      `(Timestamp, ${LOG_ROW_KEY}) < (fromUnixTimestamp64Nano(${p.bind('Int64', cursor.timeNanos)}), ${p.bind('String', cursor.rowKey)})`,
    );
  }
  const query = `SELECT ${LOG_COLUMNS}
FROM ${table(database, LOGS_TABLE)}
${where(c)}
ORDER BY Timestamp DESC, ${LOG_ROW_KEY} DESC
LIMIT ${p.bind('UInt32', limit + 1)}`;
  return { query, params: p.values };
}

/** A trace's logs in time order. */
export function buildTraceLogsQuery(database: string, traceId: string, limit: number): BuiltQuery {
  const p = new SqlParams();
  const query = `SELECT ${LOG_COLUMNS}
FROM ${table(database, LOGS_TABLE)}
WHERE TraceId = ${p.bind('String', traceId)}
ORDER BY Timestamp ASC, ${LOG_ROW_KEY} ASC
LIMIT ${p.bind('UInt32', limit)}`;
  return { query, params: p.values };
}
