/**
 * Structural types of a decoded OTLP request, covering both encodings without copying:
 * - otlp_proto, decoded by protobufjs: ids are bytes, 64-bit integers are Long objects, unset fields are
 *   null/undefined or defaults from the message prototype;
 * - otlp_json (OTLP/JSON mapping): ids are hex strings, 64-bit integers are decimal strings (or numbers),
 *   enums are ints (or their names), absent fields are missing.
 * The normalizers read these through the helpers in ./values.ts, which accept every variant.
 */

/** protobufjs Long (only what we read). */
export interface LongLike {
  low: number;
  high: number;
  unsigned: boolean;
}

export type OtlpId = Uint8Array | string;
export type OtlpInt64 = LongLike | string | number;
export type OtlpEnum = number | string;
type Maybe<T> = T | null | undefined;

export interface OtlpAnyValue {
  stringValue?: Maybe<string>;
  boolValue?: Maybe<boolean>;
  intValue?: Maybe<OtlpInt64>;
  doubleValue?: Maybe<number | string>;
  arrayValue?: Maybe<{ values?: Maybe<OtlpAnyValue[]> }>;
  kvlistValue?: Maybe<{ values?: Maybe<OtlpKeyValue[]> }>;
  bytesValue?: Maybe<Uint8Array | string>;
}

export interface OtlpKeyValue {
  key?: Maybe<string>;
  value?: Maybe<OtlpAnyValue>;
}

export interface OtlpResource {
  attributes?: Maybe<OtlpKeyValue[]>;
}

export interface OtlpScope {
  name?: Maybe<string>;
  version?: Maybe<string>;
  attributes?: Maybe<OtlpKeyValue[]>;
}

export interface OtlpLogRecord {
  timeUnixNano?: Maybe<OtlpInt64>;
  observedTimeUnixNano?: Maybe<OtlpInt64>;
  severityNumber?: Maybe<OtlpEnum>;
  severityText?: Maybe<string>;
  body?: Maybe<OtlpAnyValue>;
  attributes?: Maybe<OtlpKeyValue[]>;
  flags?: Maybe<number>;
  traceId?: Maybe<OtlpId>;
  spanId?: Maybe<OtlpId>;
  /** OTLP 1.5+: names the event this record is (e.g. `browser.page_view`); absent for a plain log. */
  eventName?: Maybe<string>;
}

export interface OtlpScopeLogs {
  scope?: Maybe<OtlpScope>;
  logRecords?: Maybe<OtlpLogRecord[]>;
  schemaUrl?: Maybe<string>;
}

export interface OtlpResourceLogs {
  resource?: Maybe<OtlpResource>;
  scopeLogs?: Maybe<OtlpScopeLogs[]>;
  schemaUrl?: Maybe<string>;
}

export interface OtlpLogsRequest {
  resourceLogs?: Maybe<OtlpResourceLogs[]>;
}

export interface OtlpSpanEvent {
  timeUnixNano?: Maybe<OtlpInt64>;
  name?: Maybe<string>;
  attributes?: Maybe<OtlpKeyValue[]>;
}

export interface OtlpSpanLink {
  traceId?: Maybe<OtlpId>;
  spanId?: Maybe<OtlpId>;
  traceState?: Maybe<string>;
  attributes?: Maybe<OtlpKeyValue[]>;
}

export interface OtlpStatus {
  message?: Maybe<string>;
  code?: Maybe<OtlpEnum>;
}

export interface OtlpSpan {
  traceId?: Maybe<OtlpId>;
  spanId?: Maybe<OtlpId>;
  traceState?: Maybe<string>;
  parentSpanId?: Maybe<OtlpId>;
  name?: Maybe<string>;
  kind?: Maybe<OtlpEnum>;
  startTimeUnixNano?: Maybe<OtlpInt64>;
  endTimeUnixNano?: Maybe<OtlpInt64>;
  attributes?: Maybe<OtlpKeyValue[]>;
  events?: Maybe<OtlpSpanEvent[]>;
  links?: Maybe<OtlpSpanLink[]>;
  status?: Maybe<OtlpStatus>;
}

export interface OtlpScopeSpans {
  scope?: Maybe<OtlpScope>;
  spans?: Maybe<OtlpSpan[]>;
  schemaUrl?: Maybe<string>;
}

export interface OtlpResourceSpans {
  resource?: Maybe<OtlpResource>;
  scopeSpans?: Maybe<OtlpScopeSpans[]>;
  schemaUrl?: Maybe<string>;
}

export interface OtlpTracesRequest {
  resourceSpans?: Maybe<OtlpResourceSpans[]>;
}

export type OtlpEncoding = 'otlp_proto' | 'otlp_json';

/**
 * The format a request was decoded from: OTLP, or a format the Collector's kafka exporter also writes,
 * translated to an OTLP request in the OTLP/JSON mapping (see ./decode.ts).
 */
export type InputFormat = OtlpEncoding | 'raw' | 'text' | 'zipkin_proto' | 'zipkin_json';
