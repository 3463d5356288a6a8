import { DecodeError, type RecordBatch } from '../errors';
import type { OtlpEnum, OtlpSpan, OtlpTracesRequest } from '../otlp/types';
import {
  idToHex,
  InvalidFieldError,
  nanosDiff,
  nanosToMs,
  nanosToString,
  storableNanos,
} from '../otlp/values';
import type { Attributes, SpanEvent, SpanKindName, SpanLink, SpanRecord, StatusCodeName } from '../records';
import { promoteCustomAttributes } from './custom-attributes';
import {
  boundAttributes,
  boundText,
  DEFAULT_RECORD_LIMITS,
  sharedPart,
  textField,
  TRUNCATED_ATTRIBUTE,
  Truncations,
  type RecordLimits,
} from './limits';

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
  /** JSON bytes of the above, which every span of the scope carries. */
  bytes: number;
  /** What bounding the resource and scope cut, reported on each of their spans. */
  truncations: Truncations;
}

/** A span's events or links: at most `limits.maxAttributes` of them, each within the remaining budget. */
function boundList<T, R>(
  items: T[] | null | undefined,
  field: string,
  limits: RecordLimits,
  truncations: Truncations,
  budget: { left: number },
  convert: (item: T, i: number) => { value: R; bytes: number },
): R[] {
  if (items == null) return [];
  if (!Array.isArray(items)) throw new InvalidFieldError(`${field} must be an array`);
  const out: R[] = [];
  for (let i = 0; i < items.length; i++) {
    if (out.length >= limits.maxAttributes || budget.left <= 0) {
      truncations.drop(field, items.length - i);
      break;
    }
    const item = items[i];
    if (item === null || typeof item !== 'object')
      throw new InvalidFieldError(`${field}[${i}] is not an object`);
    const converted = convert(item, i);
    out.push(converted.value);
    budget.left -= converted.bytes;
  }
  return out;
}

function toSpanRecord(span: OtlpSpan, scope: ScopeContext, limits: RecordLimits): SpanRecord {
  const traceId = idToHex(span.traceId, 16, 'traceId');
  const spanId = idToHex(span.spanId, 8, 'spanId');
  if (traceId === '' || spanId === '') throw new Error('span has no traceId or spanId');
  const truncations = new Truncations();
  truncations.include(scope.truncations);
  const valueBound = limits.maxAttributeValueBytes;
  const name = boundText(textField(span.name, 'name'), valueBound, 'name', truncations);
  const traceState = boundText(
    textField(span.traceState, 'traceState'),
    valueBound,
    'trace_state',
    truncations,
  );
  const statusMessage = boundText(
    textField(span.status?.message, 'status.message'),
    valueBound,
    'status_message',
    truncations,
  );
  const budget = {
    left: limits.maxRecordBytes - scope.bytes - name.bytes - traceState.bytes - statusMessage.bytes,
  };
  const spanAttributes = boundAttributes(
    span.attributes,
    limits,
    Math.max(0, budget.left),
    'span_attributes',
    truncations,
  );
  budget.left -= spanAttributes.bytes;
  const start = storableNanos(
    nanosToString(span.startTimeUnixNano, 'startTimeUnixNano'),
    'startTimeUnixNano',
  );
  const end = storableNanos(nanosToString(span.endTimeUnixNano, 'endTimeUnixNano'), 'endTimeUnixNano');
  const duration = nanosDiff(end, start);
  const events: SpanEvent[] = boundList(span.events, 'events', limits, truncations, budget, (e, i) => {
    const eventName = boundText(
      textField(e.name, 'events.name'),
      valueBound,
      `events[${i}].name`,
      truncations,
    );
    const attributes = boundAttributes(
      e.attributes,
      limits,
      Math.max(0, budget.left - eventName.bytes),
      `events[${i}].attributes`,
      truncations,
    );
    return {
      value: {
        time_unix_nano: storableNanos(
          nanosToString(e.timeUnixNano, 'events.timeUnixNano'),
          'events.timeUnixNano',
        ),
        name: eventName.value,
        attributes: attributes.value,
      },
      bytes: eventName.bytes + attributes.bytes + 64,
    };
  });
  const links: SpanLink[] = boundList(span.links, 'links', limits, truncations, budget, (l, i) => {
    const state = boundText(
      textField(l.traceState, 'links.traceState'),
      valueBound,
      `links[${i}].trace_state`,
      truncations,
    );
    const attributes = boundAttributes(
      l.attributes,
      limits,
      Math.max(0, budget.left - state.bytes),
      `links[${i}].attributes`,
      truncations,
    );
    return {
      value: {
        trace_id: idToHex(l.traceId, 16, 'links.traceId'),
        span_id: idToHex(l.spanId, 8, 'links.spanId'),
        trace_state: state.value,
        attributes: attributes.value,
      },
      bytes: state.bytes + attributes.bytes + 128,
    };
  });
  const attributes = spanAttributes.value;
  const promoted = promoteCustomAttributes(attributes, scope.resourceAttributes);
  const marker = truncations.marker();
  if (marker !== undefined) attributes[TRUNCATED_ATTRIBUTE] = marker;
  return {
    trace_id: traceId,
    span_id: spanId,
    parent_span_id: idToHex(span.parentSpanId, 8, 'parentSpanId'),
    trace_state: traceState.value,
    name: name.value,
    kind: spanKindName(span.kind),
    start_time_unix_nano: start,
    end_time_unix_nano: end,
    duration_ns: duration,
    start_ms: nanosToMs(start),
    duration_ms: nanosToMs(duration),
    status_code: statusCodeName(span.status?.code),
    status_message: statusMessage.value,
    resource_schema_url: scope.resourceSchemaUrl,
    resource_attributes: scope.resourceAttributes,
    scope_name: scope.scopeName,
    scope_version: scope.scopeVersion,
    scope_attributes: scope.scopeAttributes,
    span_attributes: attributes,
    events,
    links,
    ...promoted,
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
 * Explodes an OTLP traces request into SpanRecords, each bounded by `limits` (same contracts as
 * normalizeOtlpLogs: a malformed span, including one without trace or span id, becomes a RecordError
 * and the rest are kept).
 */
export function normalizeOtlpSpans(
  request: OtlpTracesRequest,
  limits: RecordLimits = DEFAULT_RECORD_LIMITS,
): RecordBatch<SpanRecord> {
  const batch: RecordBatch<SpanRecord> = { records: [], errors: [] };
  let index = 0;
  for (const resourceSpans of arrayOrEmpty(request.resourceSpans, 'resourceSpans')) {
    let resource;
    let scopes;
    const resourceTruncations = new Truncations();
    try {
      resource = sharedPart(
        resourceSpans?.resource?.attributes,
        { schema_url: resourceSpans?.schemaUrl },
        limits,
        limits.maxRecordBytes / 4,
        'resource',
        resourceTruncations,
      );
      scopes = arrayOrEmpty(resourceSpans?.scopeSpans, 'scopeSpans');
    } catch (error) {
      batch.errors.push({ index, reason: 'invalid_structure', message: `resource: ${reason(error)}` });
      continue;
    }
    for (const scopeSpans of scopes) {
      let context: ScopeContext;
      let spans: OtlpSpan[];
      try {
        const truncations = new Truncations();
        truncations.include(resourceTruncations);
        const scope = sharedPart(
          scopeSpans?.scope?.attributes,
          { name: scopeSpans?.scope?.name, version: scopeSpans?.scope?.version },
          limits,
          limits.maxRecordBytes / 8,
          'scope',
          truncations,
        );
        context = {
          resourceSchemaUrl: resource.strings.schema_url!,
          resourceAttributes: resource.attributes.value,
          scopeName: scope.strings.name!,
          scopeVersion: scope.strings.version!,
          scopeAttributes: scope.attributes.value,
          bytes: resource.bytes + scope.bytes,
          truncations,
        };
        spans = arrayOrEmpty(scopeSpans?.spans, 'spans');
      } catch (error) {
        batch.errors.push({ index, reason: 'invalid_structure', message: `scope: ${reason(error)}` });
        continue;
      }
      for (const span of spans) {
        try {
          if (span === null || typeof span !== 'object') throw new Error('span is not an object');
          batch.records.push(toSpanRecord(span, context, limits));
        } catch (error) {
          batch.errors.push({ index, reason: 'invalid_record', message: reason(error) });
        }
        index++;
      }
    }
  }
  return batch;
}
