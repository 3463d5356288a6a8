/**
 * OTLP export requests in the canonical OTLP/JSON mapping (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding),
 * the file format of the Collector's awss3 exporter with `marshaler: otlp_json`: lowerCamelCase names,
 * trace/span ids as lowercase hex, 64-bit integers as decimal strings, enums as integers, bytes as base64,
 * absent fields omitted. Produced by ./to-otlp-json.ts; the archive sink writes them as they are.
 *
 * Only the fields StackLens knows are typed; a field of a newer OTLP version that arrives in an OTLP/JSON
 * message is carried over as received.
 */

export interface OtlpJsonAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  /** Signed 64-bit integer as a decimal string. */
  intValue?: string;
  /** A number, or one of the strings the JSON mapping uses for non-finite values. */
  doubleValue?: number | 'NaN' | 'Infinity' | '-Infinity';
  arrayValue?: { values?: OtlpJsonAnyValue[] };
  kvlistValue?: { values?: OtlpJsonKeyValue[] };
  /** Base64. */
  bytesValue?: string;
}

export interface OtlpJsonKeyValue {
  key?: string;
  value?: OtlpJsonAnyValue;
}

export interface OtlpJsonResource {
  attributes?: OtlpJsonKeyValue[];
  droppedAttributesCount?: number;
}

export interface OtlpJsonScope {
  name?: string;
  version?: string;
  attributes?: OtlpJsonKeyValue[];
  droppedAttributesCount?: number;
}

export interface OtlpJsonLogRecord {
  /** Unsigned 64-bit nanoseconds as a decimal string (as are all `*UnixNano` fields). */
  timeUnixNano?: string;
  observedTimeUnixNano?: string;
  severityNumber?: number;
  severityText?: string;
  body?: OtlpJsonAnyValue;
  attributes?: OtlpJsonKeyValue[];
  droppedAttributesCount?: number;
  flags?: number;
  /** 32 lowercase hex characters; omitted when the record has no trace context. */
  traceId?: string;
  /** 16 lowercase hex characters. */
  spanId?: string;
  eventName?: string;
}

export interface OtlpJsonScopeLogs {
  scope?: OtlpJsonScope;
  logRecords?: OtlpJsonLogRecord[];
  schemaUrl?: string;
}

export interface OtlpJsonResourceLogs {
  resource?: OtlpJsonResource;
  scopeLogs?: OtlpJsonScopeLogs[];
  schemaUrl?: string;
}

/** ExportLogsServiceRequest. */
export interface OtlpJsonLogsRequest {
  resourceLogs?: OtlpJsonResourceLogs[];
}

export interface OtlpJsonSpanEvent {
  timeUnixNano?: string;
  name?: string;
  attributes?: OtlpJsonKeyValue[];
  droppedAttributesCount?: number;
}

export interface OtlpJsonSpanLink {
  traceId?: string;
  spanId?: string;
  traceState?: string;
  attributes?: OtlpJsonKeyValue[];
  droppedAttributesCount?: number;
}

export interface OtlpJsonStatus {
  message?: string;
  code?: number;
}

export interface OtlpJsonSpan {
  traceId?: string;
  spanId?: string;
  traceState?: string;
  /** Omitted for a root span. */
  parentSpanId?: string;
  name?: string;
  kind?: number;
  startTimeUnixNano?: string;
  endTimeUnixNano?: string;
  attributes?: OtlpJsonKeyValue[];
  droppedAttributesCount?: number;
  events?: OtlpJsonSpanEvent[];
  droppedEventsCount?: number;
  links?: OtlpJsonSpanLink[];
  droppedLinksCount?: number;
  status?: OtlpJsonStatus;
}

export interface OtlpJsonScopeSpans {
  scope?: OtlpJsonScope;
  spans?: OtlpJsonSpan[];
  schemaUrl?: string;
}

export interface OtlpJsonResourceSpans {
  resource?: OtlpJsonResource;
  scopeSpans?: OtlpJsonScopeSpans[];
  schemaUrl?: string;
}

/** ExportTraceServiceRequest. */
export interface OtlpJsonTracesRequest {
  resourceSpans?: OtlpJsonResourceSpans[];
}
