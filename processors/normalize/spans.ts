import { DecodeError, type RecordBatch } from '../errors';
import type { OtlpEnum, OtlpSpan, OtlpTracesRequest } from '../otlp/types';
import { idToHex, nanosDiff, nanosToMs, nanosToString, toAttributes } from '../otlp/values';
import type { Attributes, SpanEvent, SpanKindName, SpanLink, SpanRecord, StatusCodeName } from '../records';
import { promoteCustomAttributes } from './custom-attributes';

const KINDS: readonly SpanKindName[] = [
  'Unspecified',
  'Internal',
  'Server',
  'Client',
  'Producer',
  'Consumer',
];
const KIND_ENUM: Record<string, SpanKindName> = {
  SPAN_KIND_UNSPECIFIED: 'Unspecified',
  SPAN_KIND_INTERNAL: 'Internal',
  SPAN_KIND_SERVER: 'Server',
  SPAN_KIND_CLIENT: 'Client',
  SPAN_KIND_PRODUCER: 'Producer',
  SPAN_KIND_CONSUMER: 'Consumer',
};
const STATUSES: readonly StatusCodeName[] = ['Unset', 'Ok', 'Error'];
const STATUS_ENUM: Record<string, StatusCodeName> = {
  STATUS_CODE_UNSET: 'Unset',
  STATUS_CODE_OK: 'Ok',
  STATUS_CODE_ERROR: 'Error',
};

/** OTLP SpanKind (int, or enum name in JSON) as the Collector's name for it. */
export function spanKindName(kind: OtlpEnum | null | undefined): SpanKindName {
  if (kind == null) return 'Unspecified';
  return (typeof kind === 'number' ? KINDS[kind] : KIND_ENUM[kind]) ?? 'Unspecified';
}

/** OTLP Status.code (int, or enum name in JSON) as the Collector's name for it. */
export function statusCodeName(code: OtlpEnum | null | undefined): StatusCodeName {
  if (code == null) return 'Unset';
  return (typeof code === 'number' ? STATUSES[code] : STATUS_ENUM[code]) ?? 'Unset';
}

interface ScopeContext {
  resourceSchemaUrl: string;
  resourceAttributes: Attributes;
  scopeName: string;
  scopeVersion: string;
  scopeAttributes: Attributes;
}

function toSpanRecord(span: OtlpSpan, scope: ScopeContext): SpanRecord {
  const traceId = idToHex(span.traceId, 16, 'traceId');
  const spanId = idToHex(span.spanId, 8, 'spanId');
  if (traceId === '' || spanId === '') throw new Error('span has no traceId or spanId');
  const spanAttributes = toAttributes(span.attributes);
  const start = nanosToString(span.startTimeUnixNano, 'startTimeUnixNano');
  const end = nanosToString(span.endTimeUnixNano, 'endTimeUnixNano');
  const duration = nanosDiff(end, start);
  const events: SpanEvent[] = (span.events ?? []).map((e) => ({
    time_unix_nano: nanosToString(e.timeUnixNano, 'events.timeUnixNano'),
    name: e.name ?? '',
    attributes: toAttributes(e.attributes),
  }));
  const links: SpanLink[] = (span.links ?? []).map((l) => ({
    trace_id: idToHex(l.traceId, 16, 'links.traceId'),
    span_id: idToHex(l.spanId, 8, 'links.spanId'),
    trace_state: l.traceState ?? '',
    attributes: toAttributes(l.attributes),
  }));
  return {
    trace_id: traceId,
    span_id: spanId,
    parent_span_id: idToHex(span.parentSpanId, 8, 'parentSpanId'),
    trace_state: span.traceState ?? '',
    name: span.name ?? '',
    kind: spanKindName(span.kind),
    start_time_unix_nano: start,
    end_time_unix_nano: end,
    duration_ns: duration,
    start_ms: nanosToMs(start),
    duration_ms: nanosToMs(duration),
    status_code: statusCodeName(span.status?.code),
    status_message: span.status?.message ?? '',
    resource_schema_url: scope.resourceSchemaUrl,
    resource_attributes: scope.resourceAttributes,
    scope_name: scope.scopeName,
    scope_version: scope.scopeVersion,
    scope_attributes: scope.scopeAttributes,
    span_attributes: spanAttributes,
    events,
    links,
    ...promoteCustomAttributes(spanAttributes, scope.resourceAttributes),
    error_code: '',
    gen_ai_input_tokens: 0,
    gen_ai_output_tokens: 0,
    redacted_count: 0,
  };
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function arrayOrEmpty<T>(value: T[] | null | undefined, what: string): T[] {
  if (value == null) return [];
  if (!Array.isArray(value)) throw new DecodeError('invalid_structure', `${what} must be an array`);
  return value;
}

/**
 * Explodes an OTLP traces request into SpanRecords (same error contract as normalizeOtlpLogs: a malformed
 * span, including one without trace or span id, becomes a RecordError and the rest are kept).
 */
export function normalizeOtlpSpans(request: OtlpTracesRequest): RecordBatch<SpanRecord> {
  const batch: RecordBatch<SpanRecord> = { records: [], errors: [] };
  let index = 0;
  for (const resourceSpans of arrayOrEmpty(request.resourceSpans, 'resourceSpans')) {
    let resourceAttributes: Attributes;
    let scopes;
    try {
      resourceAttributes = toAttributes(resourceSpans?.resource?.attributes);
      scopes = arrayOrEmpty(resourceSpans?.scopeSpans, 'scopeSpans');
    } catch (error) {
      batch.errors.push({ index, reason: 'invalid_structure', message: `resource: ${reason(error)}` });
      continue;
    }
    const resourceSchemaUrl = resourceSpans?.schemaUrl ?? '';
    for (const scopeSpans of scopes) {
      let context: ScopeContext;
      let spans: OtlpSpan[];
      try {
        context = {
          resourceSchemaUrl,
          resourceAttributes,
          scopeName: scopeSpans?.scope?.name ?? '',
          scopeVersion: scopeSpans?.scope?.version ?? '',
          scopeAttributes: toAttributes(scopeSpans?.scope?.attributes),
        };
        spans = arrayOrEmpty(scopeSpans?.spans, 'spans');
      } catch (error) {
        batch.errors.push({ index, reason: 'invalid_structure', message: `scope: ${reason(error)}` });
        continue;
      }
      for (const span of spans) {
        try {
          if (span === null || typeof span !== 'object') throw new Error('span is not an object');
          batch.records.push(toSpanRecord(span, context));
        } catch (error) {
          batch.errors.push({ index, reason: 'invalid_record', message: reason(error) });
        }
        index++;
      }
    }
  }
  return batch;
}
