import { SqlParams, table, type BuiltQuery } from './sql';

export const TRACES_TABLE = 'otel_traces';

export interface SpanRow {
  trace_id: string;
  span_id: string;
  parent_span_id: string;
  name: string;
  kind: string;
  service: string;
  start_time_unix_nano: string;
  duration_ns: string;
  status_code: string;
  status_message: string;
  span_attributes: Record<string, string>;
  resource_attributes: Record<string, string>;
  event_times: string[];
  event_names: string[];
  event_attributes: Record<string, string>[];
  link_trace_ids: string[];
  link_span_ids: string[];
}

export function buildTraceSpansQuery(database: string, traceId: string, limit: number): BuiltQuery {
  const p = new SqlParams();
  const query = `SELECT
  TraceId AS trace_id,
  SpanId AS span_id,
  ParentSpanId AS parent_span_id,
  SpanName AS name,
  toString(SpanKind) AS kind,
  ServiceName AS service,
  toString(toUnixTimestamp64Nano(Timestamp)) AS start_time_unix_nano,
  toString(Duration) AS duration_ns,
  toString(StatusCode) AS status_code,
  StatusMessage AS status_message,
  SpanAttributes AS span_attributes,
  ResourceAttributes AS resource_attributes,
  arrayMap(t -> toString(toUnixTimestamp64Nano(t)), \`Events.Timestamp\`) AS event_times,
  arrayMap(n -> toString(n), \`Events.Name\`) AS event_names,
  \`Events.Attributes\` AS event_attributes,
  \`Links.TraceId\` AS link_trace_ids,
  \`Links.SpanId\` AS link_span_ids
FROM ${table(database, TRACES_TABLE)}
WHERE TraceId = ${p.bind('String', traceId)}
ORDER BY Timestamp ASC, SpanId ASC
LIMIT 1 BY SpanId
LIMIT ${p.bind('UInt32', limit)}`;
  return { query, params: p.values };
}
