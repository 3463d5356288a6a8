import { StackLensError } from '../../common/errors';
import type { CorrelationPart } from '../../processors/correlate';
import type { Alert, Attributes, LogRecord, SpanRecord } from '../../processors/records';

/** A record that cannot become a row (a field outside what its column accepts). */
export class InvalidRowError extends StackLensError {}

/**
 * Normalized records → JSONEachRow rows of the tables in ./migrations.ts. Pure.
 *
 * Times go in as integer ticks in decimal strings (nanoseconds for DateTime64(9), milliseconds for
 * DateTime64(3)): ClickHouse reads an integer as a Unix timestamp scaled to the column's precision,
 * in UTC whatever the server's time zone, and a string keeps all 19 digits that a JSON number would
 * round away. Zero-padded to the digits of a current time (19 for ns, 13 for ms): ClickHouse only
 * reads a digit string that long as ticks; shorter ones are read as date parts or seconds
 * (verified on chDB 3.4: "0" fails, "12" is 2026-01-12, "1000000000" is 2001-09-09 in seconds), and
 * an unset OTLP time, or a correlation without errors, is 0.
 */

export interface OtelLogRow {
  Timestamp: string;
  TraceId: string;
  SpanId: string;
  TraceFlags: number;
  SeverityText: string;
  SeverityNumber: number;
  ServiceName: string;
  Body: string;
  ResourceSchemaUrl: string;
  ResourceAttributes: Attributes;
  ScopeSchemaUrl: string;
  ScopeName: string;
  ScopeVersion: string;
  ScopeAttributes: Attributes;
  LogAttributes: Attributes;
  EventName: string;
  StackLensRecordId: string;
  StackLensErrorCode: string;
}

export interface OtelTraceRow {
  Timestamp: string;
  TraceId: string;
  SpanId: string;
  ParentSpanId: string;
  TraceState: string;
  SpanName: string;
  SpanKind: string;
  ServiceName: string;
  ResourceAttributes: Attributes;
  ScopeName: string;
  ScopeVersion: string;
  SpanAttributes: Attributes;
  Duration: string;
  StatusCode: string;
  StatusMessage: string;
  'Events.Timestamp': string[];
  'Events.Name': string[];
  'Events.Attributes': Attributes[];
  'Links.TraceId': string[];
  'Links.SpanId': string[];
  'Links.TraceState': string[];
  'Links.Attributes': Attributes[];
  StackLensErrorCode: string;
}

/** A stacklens_correlation_parts row (processors/correlate/part.ts). */
export interface CorrelationPartRow {
  trace_id: string;
  kind: 'span' | 'log';
  record_id: string;
  part_start: string;
  part_end: string;
  service: string;
  service_listed: number;
  is_root: number;
  root_span_name: string;
  level: string;
  is_error: number;
  error_time: string;
  error_message: string;
  error_code: string;
  input_tokens: number;
  output_tokens: number;
}

export interface AlertRow {
  id: string;
  issue_code: string;
  severity: string;
  message: string;
  suggested_fix: string;
  confidence: number;
  automation_possible: boolean;
  automation_action: string;
  related_trace_id: string;
  related_logs: string[];
  created_at: string;
  created_by: string;
  rule_id: string;
  service: string;
  count: number;
  window_start: string;
}

export function logRow(log: LogRecord): OtelLogRow {
  return {
    Timestamp: nanos(log.time_unix_nano),
    TraceId: log.trace_id,
    SpanId: log.span_id,
    TraceFlags: log.trace_flags,
    SeverityText: log.severity_text,
    SeverityNumber: log.severity_number,
    ServiceName: log.service,
    Body: log.body,
    ResourceSchemaUrl: log.resource_schema_url,
    ResourceAttributes: log.resource_attributes,
    ScopeSchemaUrl: log.scope_schema_url,
    ScopeName: log.scope_name,
    ScopeVersion: log.scope_version,
    ScopeAttributes: log.scope_attributes,
    LogAttributes: log.log_attributes,
    EventName: log.event_name,
    StackLensRecordId: log.id,
    StackLensErrorCode: log.error_code,
  };
}

export function spanRow(span: SpanRecord): OtelTraceRow {
  return {
    Timestamp: nanos(span.start_time_unix_nano),
    TraceId: span.trace_id,
    SpanId: span.span_id,
    ParentSpanId: span.parent_span_id,
    TraceState: span.trace_state,
    SpanName: span.name,
    SpanKind: span.kind,
    ServiceName: span.service,
    ResourceAttributes: span.resource_attributes,
    ScopeName: span.scope_name,
    ScopeVersion: span.scope_version,
    SpanAttributes: span.span_attributes,
    Duration: span.duration_ns,
    StatusCode: span.status_code,
    StatusMessage: span.status_message,
    // Nested columns are parallel arrays, one per sub-column.
    'Events.Timestamp': span.events.map((e) => nanos(e.time_unix_nano)),
    'Events.Name': span.events.map((e) => e.name),
    'Events.Attributes': span.events.map((e) => e.attributes),
    'Links.TraceId': span.links.map((l) => l.trace_id),
    'Links.SpanId': span.links.map((l) => l.span_id),
    'Links.TraceState': span.links.map((l) => l.trace_state),
    'Links.Attributes': span.links.map((l) => l.attributes),
    StackLensErrorCode: span.error_code,
  };
}

export function correlationPartRow(p: CorrelationPart): CorrelationPartRow {
  return {
    trace_id: p.trace_id,
    kind: p.kind,
    record_id: p.record_id,
    part_start: nanos(p.start_time_unix_nano),
    part_end: nanos(p.end_time_unix_nano),
    service: p.service,
    service_listed: p.service_listed ? 1 : 0,
    is_root: p.is_root ? 1 : 0,
    root_span_name: p.root_span_name,
    level: p.level,
    is_error: p.is_error ? 1 : 0,
    error_time: nanos(p.error_time_unix_nano),
    error_message: p.error_message,
    error_code: p.error_code,
    input_tokens: p.gen_ai_input_tokens,
    output_tokens: p.gen_ai_output_tokens,
  };
}

/** The table's columns are not Nullable (like every other column here): an absent value is ''. */
export function alertRow(a: Alert): AlertRow {
  return {
    id: a.id,
    issue_code: a.issue_code,
    severity: a.severity,
    message: a.message,
    suggested_fix: a.suggested_fix,
    confidence: a.confidence,
    automation_possible: a.automation_possible,
    automation_action: a.automation_action ?? '',
    related_trace_id: a.related_trace_id ?? '',
    related_logs: a.related_logs,
    created_at: isoToEpochMillis(a.created_at, 'created_at'),
    created_by: a.created_by,
    rule_id: a.rule_id,
    service: a.service,
    count: a.count,
    window_start: isoToEpochMillis(a.window_start, 'window_start'),
  };
}

function isoToEpochMillis(iso: string, field: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms) || ms < 0)
    throw new InvalidRowError(`alert ${field} is not an ISO-8601 time after 1970: ${JSON.stringify(iso)}`);
  return String(ms).padStart(13, '0');
}

/** Nanosecond ticks for a DateTime64(9) column (see the header comment for the padding). */
function nanos(ticks: string): string {
  return ticks.padStart(19, '0');
}
