import type { LogContractRecord } from '../json-log/contract';
import type { OtlpKeyValue } from '../otlp/types';
import { emptyAttributes, nanosToMs, storableNanos } from '../otlp/values';
import { recordId, type LogRecord, type SourcePosition } from '../records';
import { promoteCustomAttributes } from './custom-attributes';
import {
  boundAttributes,
  boundText,
  DEFAULT_RECORD_LIMITS,
  jsonBytes,
  TRUNCATED_ATTRIBUTE,
  Truncations,
  type RecordLimits,
} from './limits';
import { severityNumberFromText } from './severity';

const FRACTION = /\.(\d+)/;

/** ISO-8601 date-time (already validated) to decimal ns, keeping sub-millisecond digits. */
function isoToNanos(iso: string): string {
  const fraction = FRACTION.exec(iso)?.[1] ?? '';
  const wholeSeconds = Date.parse(iso.replace(FRACTION, '')) / 1000;
  const ns = BigInt(wholeSeconds) * 1_000_000_000n + BigInt((fraction + '000000000').slice(0, 9));
  return ns.toString();
}

/** Epoch number to decimal ns; the unit is told apart by magnitude (s < 1e11 ≤ ms < 1e14 ≤ µs < 1e17 ≤ ns). */
function epochToNanos(epoch: number): string {
  if (epoch < 1e11) return (BigInt(Math.round(epoch * 1e6)) * 1000n).toString();
  if (epoch < 1e14) return (BigInt(Math.round(epoch * 1000)) * 1000n).toString();
  if (epoch < 1e17) return (BigInt(Math.round(epoch)) * 1000n).toString();
  return BigInt(Math.round(epoch)).toString();
}

/**
 * A contract field's value as an attribute string: strings as they are, anything else as JSON with
 * arrays and objects nested deeper than `maxDepth` rendered as null (noted in `truncations`), so that
 * rendering a hostile document neither recurses without bound nor throws.
 */
function asString(value: unknown, maxDepth: number, field: string, truncations: Truncations): string {
  if (typeof value === 'string') return value;
  let tooDeep = false;
  const clip = (v: unknown, depth: number): unknown => {
    if (v === null || typeof v !== 'object') return v;
    if (depth >= maxDepth) {
      tooDeep = true;
      return null;
    }
    if (Array.isArray(v)) return v.map((item) => clip(item, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, item] of Object.entries(v)) out[k] = clip(item, depth + 1);
    return out;
  };
  const rendered = JSON.stringify(clip(value, 0)) ?? '';
  if (tooDeep) truncations.cut(`${field} (deeper than ${maxDepth})`, jsonBytes(rendered));
  return rendered;
}

const text = (value: string): OtlpKeyValue['value'] => ({ stringValue: value });

/** Contract fields that become record fields rather than log attributes. */
const RECORD_FIELDS = new Set([
  'timestamp',
  'service',
  'level',
  'message',
  'trace_id',
  'span_id',
  'app_version',
  'attrs',
]);

/**
 * A contract log record as a LogRecord. `service`/`app_version` become resource attributes
 * (service.name/service.version); every other field — request_id, error_code, user_id, product_id, action,
 * status, unknown extras, and the entries of `attrs` — becomes a log attribute (top-level fields win over
 * `attrs` entries of the same name), from which custom attributes are promoted as for OTLP.
 * There is no separate observed time in the contract, so it equals the event time.
 */
export function normalizeJsonLog(
  record: LogContractRecord,
  position: SourcePosition,
  limits: RecordLimits = DEFAULT_RECORD_LIMITS,
): LogRecord {
  const time = storableNanos(
    typeof record.timestamp === 'number' ? epochToNanos(record.timestamp) : isoToNanos(record.timestamp),
    'timestamp',
  );
  const truncations = new Truncations();
  const resource: OtlpKeyValue[] = [{ key: 'service.name', value: text(record.service) }];
  if (record.app_version != null) resource.push({ key: 'service.version', value: text(record.app_version) });
  const resourceAttributes = boundAttributes(
    resource,
    limits,
    limits.maxRecordBytes / 4,
    'resource_attributes',
    truncations,
  );
  const body = boundText(
    record.message,
    Math.min(limits.maxBodyBytes, limits.maxRecordBytes - resourceAttributes.bytes),
    'body',
    truncations,
  );
  // Later entries win, as in OTLP: `attrs` first, then the top-level fields.
  const attributes: OtlpKeyValue[] = [];
  const add = (key: string, value: unknown) =>
    attributes.push({
      key,
      value: text(asString(value, limits.maxValueDepth, `log_attributes.${key}`, truncations)),
    });
  if (record.attrs !== undefined) for (const [key, value] of Object.entries(record.attrs)) add(key, value);
  for (const [key, value] of Object.entries(record)) {
    if (!RECORD_FIELDS.has(key) && value != null) add(key, value);
  }
  const logAttributes = boundAttributes(
    attributes,
    limits,
    Math.max(0, limits.maxRecordBytes - resourceAttributes.bytes - body.bytes),
    'log_attributes',
    truncations,
  ).value;
  const promoted = promoteCustomAttributes(logAttributes, resourceAttributes.value);
  const marker = truncations.marker();
  if (marker !== undefined) logAttributes[TRUNCATED_ATTRIBUTE] = marker;
  const level = record.level.toUpperCase();
  return {
    id: recordId(position, 0),
    source: 'json_log',
    time_unix_nano: time,
    observed_time_unix_nano: time,
    time_ms: nanosToMs(time),
    trace_id: record.trace_id?.toLowerCase() ?? '',
    span_id: record.span_id?.toLowerCase() ?? '',
    trace_flags: 0,
    severity_number: severityNumberFromText(level),
    severity_text: level,
    body: body.value,
    event_name: '',
    resource_schema_url: '',
    resource_attributes: resourceAttributes.value,
    scope_name: '',
    scope_version: '',
    scope_schema_url: '',
    scope_attributes: emptyAttributes(),
    log_attributes: logAttributes,
    ...promoted,
    error_code: '',
    gen_ai_input_tokens: 0,
    gen_ai_output_tokens: 0,
    redacted_count: 0,
  };
}
