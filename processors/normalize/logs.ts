import { DecodeError, type RecordBatch } from '../errors';
import type { InputFormat, OtlpLogRecord, OtlpLogsRequest } from '../otlp/types';
import { idToHex, nanosToMs, nanosToString, storableNanos } from '../otlp/values';
import { recordId, type Attributes, type LogRecord, type SourcePosition } from '../records';
import { promoteCustomAttributes } from './custom-attributes';
import {
  boundAttributes,
  boundText,
  DEFAULT_RECORD_LIMITS,
  renderAnyValue,
  sharedPart,
  textField,
  TRUNCATED_ATTRIBUTE,
  Truncations,
  type RecordLimits,
} from './limits';
import { resolveSeverity, severityNumberFromOtlp } from './severity';

const HEX32 = /^[0-9a-fA-F]{32}$/;
const HEX16 = /^[0-9a-fA-F]{16}$/;

/**
 * Trace context from attributes, for producers that log ids as attributes instead of the record fields
 * (only when well-formed hex; a value such as a workflow id stays an ordinary attribute).
 */
export function idFromAttributes(attributes: Attributes, keys: readonly string[], pattern: RegExp): string {
  for (const key of keys) {
    const v = attributes[key];
    if (v !== undefined && pattern.test(v) && !/^0+$/.test(v)) return v.toLowerCase();
  }
  return '';
}

export const TRACE_ID_KEYS = ['trace_id', 'traceId', 'trace.id'] as const;
export const SPAN_ID_KEYS = ['span_id', 'spanId', 'span.id'] as const;

interface ScopeContext {
  resourceSchemaUrl: string;
  resourceAttributes: Attributes;
  scopeName: string;
  scopeVersion: string;
  scopeSchemaUrl: string;
  scopeAttributes: Attributes;
  /** JSON bytes of the above, which every record of the scope carries. */
  bytes: number;
  /** What bounding the resource and scope cut, reported on each of their records. */
  truncations: Truncations;
}

function toLogRecord(
  log: OtlpLogRecord,
  scope: ScopeContext,
  source: InputFormat,
  position: SourcePosition,
  index: number,
  limits: RecordLimits,
): LogRecord {
  const truncations = new Truncations();
  truncations.include(scope.truncations);
  let budget = limits.maxRecordBytes - scope.bytes;
  const severityText = boundText(
    textField(log.severityText, 'severityText'),
    limits.maxAttributeValueBytes,
    'severity_text',
    truncations,
  );
  budget -= severityText.bytes;
  const eventName = boundText(
    textField(log.eventName, 'eventName'),
    limits.maxAttributeValueBytes,
    'event_name',
    truncations,
  );
  budget -= eventName.bytes;
  const body = boundText(
    renderAnyValue(log.body, limits.maxValueDepth, 'body', truncations),
    Math.max(0, Math.min(limits.maxBodyBytes, budget)),
    'body',
    truncations,
  );
  budget -= body.bytes;
  const logAttributes = boundAttributes(
    log.attributes,
    limits,
    Math.max(0, budget),
    'log_attributes',
    truncations,
  ).value;
  const observed = storableNanos(
    nanosToString(log.observedTimeUnixNano, 'observedTimeUnixNano'),
    'observedTimeUnixNano',
  );
  const eventTime = storableNanos(nanosToString(log.timeUnixNano, 'timeUnixNano'), 'timeUnixNano');
  const time = eventTime !== '0' ? eventTime : observed;
  const severity = resolveSeverity(severityNumberFromOtlp(log.severityNumber), severityText.value);
  const promoted = promoteCustomAttributes(logAttributes, scope.resourceAttributes);
  const marker = truncations.marker();
  if (marker !== undefined) logAttributes[TRUNCATED_ATTRIBUTE] = marker;
  return {
    id: recordId(position, index),
    source,
    time_unix_nano: time,
    observed_time_unix_nano: observed,
    time_ms: nanosToMs(time),
    trace_id: idToHex(log.traceId, 16, 'traceId') || idFromAttributes(logAttributes, TRACE_ID_KEYS, HEX32),
    span_id: idToHex(log.spanId, 8, 'spanId') || idFromAttributes(logAttributes, SPAN_ID_KEYS, HEX16),
    trace_flags: (log.flags ?? 0) & 0xff,
    severity_number: severity.severity_number,
    severity_text: severity.severity_text,
    body: body.value,
    event_name: eventName.value,
    resource_schema_url: scope.resourceSchemaUrl,
    resource_attributes: scope.resourceAttributes,
    scope_name: scope.scopeName,
    scope_version: scope.scopeVersion,
    scope_schema_url: scope.scopeSchemaUrl,
    scope_attributes: scope.scopeAttributes,
    log_attributes: logAttributes,
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
 * Explodes an OTLP logs request into LogRecords, each bounded by `limits` (see RecordLimits). Resource
 * and scope attribute maps are built and bounded once and shared by the records of that resource/scope
 * (records are treated as immutable downstream).
 * A malformed record becomes a RecordError (`index` counts records across the whole request); the others are
 * kept. Record ids derive from `position` and that index.
 */
export function normalizeOtlpLogs(
  request: OtlpLogsRequest,
  source: InputFormat,
  position: SourcePosition,
  limits: RecordLimits = DEFAULT_RECORD_LIMITS,
): RecordBatch<LogRecord> {
  const batch: RecordBatch<LogRecord> = { records: [], errors: [] };
  let index = 0;
  for (const resourceLogs of arrayOrEmpty(request.resourceLogs, 'resourceLogs')) {
    let resource;
    let scopes;
    const resourceTruncations = new Truncations();
    try {
      resource = sharedPart(
        resourceLogs?.resource?.attributes,
        { schema_url: resourceLogs?.schemaUrl },
        limits,
        limits.maxRecordBytes / 4,
        'resource',
        resourceTruncations,
      );
      scopes = arrayOrEmpty(resourceLogs?.scopeLogs, 'scopeLogs');
    } catch (error) {
      batch.errors.push({ index, reason: 'invalid_structure', message: `resource: ${reason(error)}` });
      continue;
    }
    for (const scopeLogs of scopes) {
      let context: ScopeContext;
      let logs: OtlpLogRecord[];
      try {
        const truncations = new Truncations();
        truncations.include(resourceTruncations);
        const scope = sharedPart(
          scopeLogs?.scope?.attributes,
          {
            name: scopeLogs?.scope?.name,
            version: scopeLogs?.scope?.version,
            schema_url: scopeLogs?.schemaUrl,
          },
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
          scopeSchemaUrl: scope.strings.schema_url!,
          scopeAttributes: scope.attributes.value,
          bytes: resource.bytes + scope.bytes,
          truncations,
        };
        logs = arrayOrEmpty(scopeLogs?.logRecords, 'logRecords');
      } catch (error) {
        batch.errors.push({ index, reason: 'invalid_structure', message: `scope: ${reason(error)}` });
        continue;
      }
      for (const log of logs) {
        try {
          if (log === null || typeof log !== 'object') throw new Error('log record is not an object');
          batch.records.push(toLogRecord(log, context, source, position, index, limits));
        } catch (error) {
          batch.errors.push({ index, reason: 'invalid_record', message: reason(error) });
        }
        index++;
      }
    }
  }
  return batch;
}
