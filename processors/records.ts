/**
 * Normalized record shapes shared by every stage of the pipeline (decode → normalize → redact → enrich →
 * correlate → alert) and by the sinks.
 *
 * Conventions (stable; other modules depend on them):
 * - Field names are snake_case: these objects are the wire shape (Kafka JSON, API responses, Avro) and line up
 *   with the seeds' log/alert contracts, so no mapping layer is needed between stages.
 * - Times are unix-epoch NANOSECONDS as decimal strings (`*_unix_nano`, `duration_ns`): an epoch in ns
 *   (~1.7e18) does not fit a JS number exactly, and strings survive JSON unchanged (bigint does not).
 *   Each record also carries a millisecond `number` convenience (`time_ms`, `start_ms`, `duration_ms`) for
 *   windowing and display. '0' means "unknown".
 * - Ids are lowercase hex; trace_id is 32 chars, span_id 16 chars; '' when absent (never all-zero hex).
 * - Absent strings are '' and absent numbers 0 (ClickHouse columns are non-Nullable, like the OpenTelemetry
 *   Collector's ClickHouse exporter schema). The external Alert event is the exception: its optional fields
 *   are `null`, as in the seeds' alert event format.
 * - Attribute maps are flat string → string (ClickHouse Map(String, String)); non-string OTLP values are
 *   rendered as JSON (see processors/normalize/any-value.ts).
 */

import type { InputFormat } from './otlp/types';

/** Flat attribute map, as stored in ClickHouse Map(String, String). */
export type Attributes = Record<string, string>;

/**
 * The product's custom attributes (seeds: services beorn/palantir/arda, workflows wf-*), promoted to
 * first-class fields. '' when absent. `service` is the OTel `service.name` (ClickHouse ServiceName) and
 * `env` is `deployment.environment(.name)`.
 */
export interface CustomAttributes {
  service: string;
  env: string;
  workflow_id: string;
  circuit_id: string;
  product_id: string;
  resource_id: string;
  resource_type_id: string;
  request_id: string;
}

/** Names of the promoted custom attributes, in a fixed order (useful to build columns and schemas). */
export const CUSTOM_ATTRIBUTE_KEYS = [
  'service',
  'env',
  'workflow_id',
  'circuit_id',
  'product_id',
  'resource_id',
  'resource_type_id',
  'request_id',
] as const satisfies readonly (keyof CustomAttributes)[];

/** Fields added by enrichment and redaction (shared by logs and spans). */
export interface Enrichment {
  /** Classified error code (e.g. TIMEOUT, PRICE_MISSING); '' when the record is not an error. */
  error_code: string;
  /** gen_ai.usage.input_tokens (or legacy prompt_tokens); 0 when absent. */
  gen_ai_input_tokens: number;
  /** gen_ai.usage.output_tokens (or legacy completion_tokens); 0 when absent. */
  gen_ai_output_tokens: number;
  /** How many values PII redaction replaced in this record. */
  redacted_count: number;
}

/**
 * Where a log record came from: its input encoding (`raw`/`text`: the whole Kafka message as the body);
 * `json_log` is a single record in the seeds' custom-logger contract.
 */
export type LogSource = InputFormat | 'json_log';

/** One log record (maps onto the Collector ClickHouse exporter's otel_logs table). */
export interface LogRecord extends CustomAttributes, Enrichment {
  /**
   * Deterministic id derived from the record's source position (`topic:partition:offset:index`, see
   * `recordId`), so replaying a topic yields the same ids and sinks can deduplicate.
   */
  id: string;
  source: LogSource;
  /** Event time in ns (falls back to observed time when the producer sent 0, like the Collector exporter). */
  time_unix_nano: string;
  observed_time_unix_nano: string;
  /** `time_unix_nano` in milliseconds. */
  time_ms: number;
  trace_id: string;
  span_id: string;
  /** W3C trace flags (low 8 bits of the OTLP `flags` field). */
  trace_flags: number;
  /** OTel severity number 0..24 (0 = unspecified). */
  severity_number: number;
  /** Severity text as sent, or derived from the number (TRACE, DEBUG, INFO, WARN, ERROR, FATAL) when absent. */
  severity_text: string;
  /** Body rendered as a string (non-string AnyValue bodies as JSON). */
  body: string;
  /** OTLP `event_name` (ClickHouse EventName): the event this record is; '' for a plain log. */
  event_name: string;
  resource_schema_url: string;
  resource_attributes: Attributes;
  scope_name: string;
  scope_version: string;
  scope_schema_url: string;
  scope_attributes: Attributes;
  log_attributes: Attributes;
}

/** OTel span kind names, as the Collector's ClickHouse exporter writes them (pdata SpanKind.String()). */
export type SpanKindName = 'Unspecified' | 'Internal' | 'Server' | 'Client' | 'Producer' | 'Consumer';

/** OTel status code names, as the Collector's ClickHouse exporter writes them (pdata StatusCode.String()). */
export type StatusCodeName = 'Unset' | 'Ok' | 'Error';

export interface SpanEvent {
  time_unix_nano: string;
  name: string;
  attributes: Attributes;
}

export interface SpanLink {
  trace_id: string;
  span_id: string;
  trace_state: string;
  attributes: Attributes;
}

/** One span (maps onto the Collector ClickHouse exporter's otel_traces table). */
export interface SpanRecord extends CustomAttributes, Enrichment {
  trace_id: string;
  span_id: string;
  /** '' for a root span. */
  parent_span_id: string;
  trace_state: string;
  name: string;
  kind: SpanKindName;
  start_time_unix_nano: string;
  end_time_unix_nano: string;
  /** end − start in ns (0 when end precedes start). */
  duration_ns: string;
  start_ms: number;
  duration_ms: number;
  status_code: StatusCodeName;
  status_message: string;
  resource_schema_url: string;
  resource_attributes: Attributes;
  scope_name: string;
  scope_version: string;
  scope_attributes: Attributes;
  span_attributes: Attributes;
  events: SpanEvent[];
  links: SpanLink[];
}

/** Log counts by severity range (OTel severity numbers: TRACE 1-4, DEBUG 5-8, INFO 9-12, WARN 13-16, ERROR 17-20, FATAL 21-24). */
export interface LogLevelCounts {
  unspecified: number;
  trace: number;
  debug: number;
  info: number;
  warn: number;
  error: number;
  fatal: number;
}

/** Maximum number of log ids a Correlation keeps; further ids are counted in `log_ids_dropped`. */
export const MAX_CORRELATION_LOG_IDS = 1000;

/**
 * Bounds of a Correlation's `services`: at most this many names, each at most
 * MAX_CORRELATION_SERVICE_BYTES of JSON (longer names are left out of the list). A record's service
 * name may be up to RECORD_MAX_ATTRIBUTE_VALUE_BYTES long, and a trace may name any number: unbounded,
 * the list alone could outgrow the changelog's 1 MiB message limit. Both bounds keep the list
 * independent of arrival order (a filter, then the smallest names).
 */
export const MAX_CORRELATION_SERVICES = 128;
export const MAX_CORRELATION_SERVICE_BYTES = 1024;

/**
 * Everything known about one trace: the spans and logs sharing its trace_id, folded together by
 * processors/correlate (order-independent). Stored as one part per record (processors/correlate/part.ts),
 * merged by ClickHouse's stacklens_correlations view.
 */
export interface Correlation {
  trace_id: string;
  /** Root span (no parent); when several claim to be root, the smallest span id wins. '' when not seen yet. */
  root_span_id: string;
  root_span_name: string;
  root_service: string;
  /**
   * Distinct services seen in spans and logs, sorted: the MAX_CORRELATION_SERVICES smallest names of at
   * most MAX_CORRELATION_SERVICE_BYTES (a choice independent of arrival order, like `log_ids`).
   */
  services: string[];
  /** Earliest span start / log time in ns; '0' when empty. */
  start_time_unix_nano: string;
  /** Latest span end / log time in ns; '0' when empty. */
  end_time_unix_nano: string;
  duration_ns: string;
  start_ms: number;
  duration_ms: number;
  span_count: number;
  /** Spans with status Error plus logs with severity ERROR or FATAL. */
  error_count: number;
  log_count: number;
  log_counts: LogLevelCounts;
  /** Earliest error (span status message / exception message / span name, or error log body); '' when none. */
  first_error_message: string;
  first_error_time_unix_nano: string;
  /** error_code of that earliest error ('' when none). */
  first_error_code: string;
  /** Sum of the spans' gen_ai token usage (logs are not counted: they usually repeat a span's usage). */
  gen_ai_input_tokens: number;
  gen_ai_output_tokens: number;
  /**
   * Ids of the trace's logs: the MAX_CORRELATION_LOG_IDS smallest, sorted (a choice independent of arrival
   * order). `log_ids_dropped` = log_count − log_ids.length.
   */
  log_ids: string[];
  log_ids_dropped: number;
  /** Number of records folded in (spans + logs); grows as records come. */
  version: number;
}

export type AlertSeverity = 'error' | 'warn' | 'info';

/** Alert event (seeds' alert event format, plus rule_id/service/count/window_start for dedup). */
export interface Alert {
  /** Deterministic: hash of rule id + dedup key + window start, so a replay produces the same id. */
  id: string;
  issue_code: string;
  severity: AlertSeverity;
  message: string;
  suggested_fix: string;
  /** 0..1 */
  confidence: number;
  automation_possible: boolean;
  automation_action: string | null;
  related_trace_id: string | null;
  /** LogRecord ids that triggered the alert (bounded). */
  related_logs: string[];
  /** ISO-8601 UTC, e.g. 2025-01-15T10:31:00.000Z (event time of the triggering record, not wall clock). */
  created_at: string;
  created_by: string;
  rule_id: string;
  /** '' when the rule is not scoped to a service. */
  service: string;
  /** How many matching records this alert stands for (a storm yields one alert with a count). */
  count: number;
  /** ISO-8601 start of the dedup window the alert belongs to (trace-keyed rules: time of the first alert). */
  window_start: string;
}

/** Position of a Kafka message, from which deterministic record ids are derived. */
export interface SourcePosition {
  topic: string;
  partition: number;
  /** Kafka offset as a decimal string (kafkajs gives strings). */
  offset: string;
}

/** Deterministic record id: `topic:partition:offset:index` (index = position of the record in its message). */
export function recordId(position: SourcePosition, index: number): string {
  return `${position.topic}:${position.partition}:${position.offset}:${index}`;
}
