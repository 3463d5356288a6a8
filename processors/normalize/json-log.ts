import type { LogContractRecord } from '../json-log/contract';
import { emptyAttributes, nanosToMs } from '../otlp/values';
import { recordId, type Attributes, type LogRecord, type SourcePosition } from '../records';
import { promoteCustomAttributes } from './custom-attributes';
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

function asString(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

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
export function normalizeJsonLog(record: LogContractRecord, position: SourcePosition): LogRecord {
  const time =
    typeof record.timestamp === 'number' ? epochToNanos(record.timestamp) : isoToNanos(record.timestamp);
  const resourceAttributes = emptyAttributes();
  resourceAttributes['service.name'] = record.service;
  if (record.app_version != null) resourceAttributes['service.version'] = record.app_version;
  const logAttributes: Attributes = emptyAttributes();
  if (record.attrs !== undefined) {
    for (const [key, value] of Object.entries(record.attrs)) logAttributes[key] = asString(value);
  }
  for (const [key, value] of Object.entries(record)) {
    if (!RECORD_FIELDS.has(key) && value != null) logAttributes[key] = asString(value);
  }
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
    body: record.message,
    resource_schema_url: '',
    resource_attributes: resourceAttributes,
    scope_name: '',
    scope_version: '',
    scope_schema_url: '',
    scope_attributes: emptyAttributes(),
    log_attributes: logAttributes,
    ...promoteCustomAttributes(logAttributes, resourceAttributes),
    error_code: '',
    gen_ai_input_tokens: 0,
    gen_ai_output_tokens: 0,
    redacted_count: 0,
  };
}
