import { DecodeError, type DecodeReason } from '../errors';
import type { LogContractRecord } from '../json-log/contract';
import { normalizeJsonLog } from '../normalize/json-log';
import { severityNumberFromOtlp } from '../normalize/severity';
import { spanKindName, statusCodeName } from '../normalize/spans';
import type { Attributes, SourcePosition, SpanKindName, StatusCodeName } from '../records';
import {
  decodeLogsMessage,
  decodeTracesMessage,
  type DecodedLogs,
  type DecodedTraces,
  type LogsInputEncoding,
  type MessageHeaders,
  type TracesInputEncoding,
} from './decode';
import type {
  OtlpJsonAnyValue,
  OtlpJsonKeyValue,
  OtlpJsonLogRecord,
  OtlpJsonLogsRequest,
  OtlpJsonTracesRequest,
} from './otlp-json-types';
import { MAX_DOCUMENT_DEPTH } from './document-depth';

export { MAX_DOCUMENT_DEPTH };
import type { LongLike, OtlpEnum, OtlpId, OtlpInt64 } from './types';
import { anyValueToString, idToHex, InvalidFieldError, nanosToString } from './values';

/*
 * Conversion rule: a field is written when the input has it (own property, not null), with its value in
 * the canonical JSON form; absent fields stay absent. OTLP/JSON input therefore keeps its shape (e.g. the
 * zero counts and empty lists the JS SDK writes), and protobuf input yields the fields present on the wire:
 * protobufjs sets only those, plus an empty array for every repeated field, which is skipped (protobuf
 * cannot tell an empty list from an absent one, and the Collector writes neither). Fields this module does
 * not know (a newer OTLP version's, in OTLP/JSON input) are carried over as received; protobufjs drops
 * unknown fields while decoding.
 */

/** A conversion failure; `path` is built while it propagates, so the happy path builds no strings. */
class ConversionError extends Error {
  constructor(
    readonly reason: DecodeReason,
    message: string,
    readonly path = '',
  ) {
    super(message);
  }
}

function prefixed(segment: string, path: string): string {
  if (path === '') return segment;
  return path.charCodeAt(0) === 0x5b /* [ */ ? segment + path : `${segment}.${path}`;
}

/** The error thrown inside `segment`, with `segment` prepended to its path (unknown errors pass unchanged). */
function within(error: unknown, segment: string): unknown {
  if (error instanceof ConversionError)
    return new ConversionError(error.reason, error.message, prefixed(segment, error.path));
  // Value readers name the field in their message: only the path of the message holding it is added.
  if (error instanceof InvalidFieldError) return new ConversionError('invalid_record', error.message);
  return error;
}

/** Converts one present (non-null) field value; `undefined` omits the field. */
type Convert = (value: unknown, fromProto: boolean) => unknown;
type Fields = Readonly<Record<string, Convert>>;

/** A field table without a prototype, so a key such as `constructor` is not mistaken for a converter. */
function fields(converters: Record<string, Convert>): Fields {
  return Object.assign(Object.create(null) as Record<string, Convert>, converters);
}

function convertMessage(value: unknown, spec: Fields, fromProto: boolean): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new ConversionError('invalid_structure', 'must be an object');
  const source = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(source)) {
    const field = source[key];
    // `__proto__` is no OTLP field, and assigning it would set the output's prototype.
    if (field == null || key === '__proto__') continue;
    if (fromProto && Array.isArray(field) && field.length === 0) continue;
    const convert = spec[key];
    if (convert === undefined) {
      out[key] = field;
      continue;
    }
    let converted: unknown;
    try {
      converted = convert(field, fromProto);
    } catch (error) {
      throw within(error, key);
    }
    if (converted !== undefined) out[key] = converted;
  }
  return out;
}

function message(spec: Fields): Convert {
  return (value, fromProto) => convertMessage(value, spec, fromProto);
}

function list(item: Convert): Convert {
  return (value, fromProto) => {
    if (!Array.isArray(value)) throw new ConversionError('invalid_structure', 'must be an array');
    const out: unknown[] = [];
    for (let i = 0; i < value.length; i++) {
      try {
        out.push(item(value[i], fromProto));
      } catch (error) {
        throw within(error, `[${i}]`);
      }
    }
    return out;
  };
}

function nanos(field: string): Convert {
  return (value) => nanosToString(value as OtlpInt64, field);
}

/** Lowercase hex; an empty or all-zero id (OTLP's "no id") is omitted, as the Collector does. */
function id(bytes: 8 | 16, field: string): Convert {
  return (value) => idToHex(value as OtlpId, bytes, field) || undefined;
}

const TWO_POW_63 = 2 ** 63;
const SIGNED_DIGITS = /^-?\d+$/;
/** A leading zero (or `-0`) that the canonical decimal form drops. */
const NON_CANONICAL_DIGITS = /^-?0\d|^-0$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function isLong(value: unknown): value is LongLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as LongLike).low === 'number' &&
    typeof (value as LongLike).high === 'number'
  );
}

/** AnyValue.intValue (signed 64-bit: Long, decimal string or number) as a canonical decimal string. */
function int64ToString(value: unknown): string {
  if (typeof value === 'string') {
    if (!SIGNED_DIGITS.test(value)) throw new InvalidFieldError('intValue must be a decimal integer string');
    // Up to 18 digits always fits; longer strings are range-checked.
    if (value.length < 19 && !NON_CANONICAL_DIGITS.test(value)) return value;
    const big = BigInt(value);
    if (big < INT64_MIN || big > INT64_MAX) throw new InvalidFieldError('intValue is out of the int64 range');
    return big.toString();
  }
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || Math.abs(value) >= TWO_POW_63)
      throw new InvalidFieldError('intValue must be a 64-bit integer');
    return Number.isSafeInteger(value) ? String(value) : BigInt(value).toString();
  }
  if (isLong(value)) {
    // Most values fit the low word (high word 0, or -1 for small negatives).
    if ((value.high === 0 && value.low >= 0) || (value.high === -1 && value.low < 0))
      return String(value.low);
    return BigInt.asIntN(64, (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0)).toString();
  }
  throw new InvalidFieldError('intValue has an unsupported type');
}

/** AnyValue.doubleValue: a JSON number, or the strings the JSON mapping uses for NaN and infinities. */
function doubleToJson(value: unknown): OtlpJsonAnyValue['doubleValue'] {
  if (typeof value === 'number')
    return Number.isFinite(value) ? value : (String(value) as 'NaN' | 'Infinity' | '-Infinity');
  if (typeof value === 'string') {
    if (value === 'NaN' || value === 'Infinity' || value === '-Infinity') return value;
    const n = Number(value);
    if (value.trim() !== '' && Number.isFinite(n)) return n;
  }
  throw new InvalidFieldError('doubleValue must be a number');
}

function bytesToBase64(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  throw new InvalidFieldError('bytesValue must be base64 or bytes');
}

function severityNumber(value: unknown): number {
  return severityNumberFromOtlp(value as OtlpEnum);
}

const SPAN_KIND_NUMBERS: Readonly<Record<SpanKindName, number>> = {
  Unspecified: 0,
  Internal: 1,
  Server: 2,
  Client: 3,
  Producer: 4,
  Consumer: 5,
};
const STATUS_CODE_NUMBERS: Readonly<Record<StatusCodeName, number>> = { Unset: 0, Ok: 1, Error: 2 };

function anyValue(value: unknown, fromProto: boolean): unknown {
  return convertMessage(value, ANY_VALUE, fromProto);
}

function keyValue(value: unknown, fromProto: boolean): unknown {
  return convertMessage(value, KEY_VALUE, fromProto);
}

const KEY_VALUE = fields({ value: anyValue });
const ANY_VALUE = fields({
  intValue: int64ToString,
  doubleValue: doubleToJson,
  bytesValue: bytesToBase64,
  arrayValue: message(fields({ values: list(anyValue) })),
  kvlistValue: message(fields({ values: list(keyValue) })),
});
const attributes = list(keyValue);
// OTLP 1.8+ entity references: converted (not copied) so that protobuf input's empty lists are dropped.
const resource = message(fields({ attributes, entityRefs: list(message(fields({}))) }));
const scope = message(fields({ attributes }));

const LOGS_REQUEST = fields({
  resourceLogs: list(
    message(
      fields({
        resource,
        scopeLogs: list(
          message(
            fields({
              scope,
              logRecords: list(
                message(
                  fields({
                    timeUnixNano: nanos('timeUnixNano'),
                    observedTimeUnixNano: nanos('observedTimeUnixNano'),
                    severityNumber,
                    body: anyValue,
                    attributes,
                    traceId: id(16, 'traceId'),
                    spanId: id(8, 'spanId'),
                  }),
                ),
              ),
            }),
          ),
        ),
      }),
    ),
  ),
});

const TRACES_REQUEST = fields({
  resourceSpans: list(
    message(
      fields({
        resource,
        scopeSpans: list(
          message(
            fields({
              scope,
              spans: list(
                message(
                  fields({
                    traceId: id(16, 'traceId'),
                    spanId: id(8, 'spanId'),
                    parentSpanId: id(8, 'parentSpanId'),
                    kind: (value) => SPAN_KIND_NUMBERS[spanKindName(value as OtlpEnum)],
                    startTimeUnixNano: nanos('startTimeUnixNano'),
                    endTimeUnixNano: nanos('endTimeUnixNano'),
                    attributes,
                    events: list(message(fields({ timeUnixNano: nanos('events.timeUnixNano'), attributes }))),
                    links: list(
                      message(
                        fields({
                          traceId: id(16, 'links.traceId'),
                          spanId: id(8, 'links.spanId'),
                          attributes,
                        }),
                      ),
                    ),
                    status: message(
                      fields({ code: (value) => STATUS_CODE_NUMBERS[statusCodeName(value as OtlpEnum)] }),
                    ),
                  }),
                ),
              ),
            }),
          ),
        ),
      }),
    ),
  ),
});

function convertRequest(request: object, spec: Fields, fromProto: boolean): Record<string, unknown> {
  try {
    return convertMessage(request, spec, fromProto);
  } catch (error) {
    if (error instanceof ConversionError) {
      const where = error.path === '' ? '' : `${error.path}: `;
      throw new DecodeError(error.reason, `${where}${error.message}`, { cause: error });
    }
    throw error;
  }
}

/** A contract record value as an AnyValue (JSON objects as kvlists, integers as intValue). */
function jsonToAnyValue(value: unknown): OtlpJsonAnyValue {
  switch (typeof value) {
    case 'string':
      return { stringValue: value };
    case 'boolean':
      return { boolValue: value };
    case 'number':
      return Number.isSafeInteger(value) ? { intValue: String(value) } : { doubleValue: value };
    case 'object':
      if (value === null) return {};
      if (Array.isArray(value)) return { arrayValue: { values: value.map(jsonToAnyValue) } };
      return {
        kvlistValue: {
          values: Object.entries(value).map(([key, v]) => ({ key, value: jsonToAnyValue(v) })),
        },
      };
    default:
      return {};
  }
}

/**
 * The typed value of a log attribute that normalizeJsonLog rendered as `rendered`: from the top-level
 * field of that name or else from `attrs` (normalizeJsonLog decides which applies). Falls back to the
 * rendered string whenever the typed value would render differently (e.g. a null inside `attrs`), so the
 * archived record normalizes to exactly the LogRecord the pipeline made of the original.
 */
function contractAttributeValue(record: LogContractRecord, key: string, rendered: string): OtlpJsonAnyValue {
  const top: unknown = record[key];
  const raw =
    top != null && (typeof top === 'string' ? top : JSON.stringify(top)) === rendered
      ? top
      : record.attrs?.[key];
  const value = jsonToAnyValue(raw);
  return anyValueToString(value) === rendered ? value : { stringValue: rendered };
}

function stringAttributes(attributes: Attributes): OtlpJsonKeyValue[] {
  return Object.keys(attributes).map((key) => ({ key, value: { stringValue: attributes[key]! } }));
}

/** Record ids are not part of OTLP: normalizeJsonLog's id is discarded. */
const UNUSED_POSITION: SourcePosition = { topic: '', partition: 0, offset: '0' };

/**
 * A seeds' contract log record as a one-record ExportLogsServiceRequest. The field mapping is
 * normalizeJsonLog's (service/app_version → resource service.name/service.version, message → body,
 * level → severity, timestamp → time and observed time, the other fields → log attributes), so the
 * archived form normalizes to the same LogRecord as the original.
 */
function contractLogToOtlpJson(record: LogContractRecord): OtlpJsonLogsRequest {
  const log = normalizeJsonLog(record, UNUSED_POSITION);
  const logAttributes = log.log_attributes;
  const logRecord: OtlpJsonLogRecord = {
    timeUnixNano: log.time_unix_nano,
    observedTimeUnixNano: log.observed_time_unix_nano,
    severityNumber: log.severity_number,
    severityText: log.severity_text,
    body: { stringValue: log.body },
    attributes: Object.keys(logAttributes).map((key) => ({
      key,
      value: contractAttributeValue(record, key, logAttributes[key]!),
    })),
  };
  if (log.trace_id !== '') logRecord.traceId = log.trace_id;
  if (log.span_id !== '') logRecord.spanId = log.span_id;
  return {
    resourceLogs: [
      {
        resource: { attributes: stringAttributes(log.resource_attributes) },
        scopeLogs: [{ logRecords: [logRecord] }],
      },
    ],
  };
}

/**
 * What decodeLogsMessage returned, in the canonical OTLP/JSON mapping (see ./otlp-json-types.ts).
 * @throws DecodeError when a record cannot be represented (e.g. a malformed id or time): the archive
 *   must not hold a non-canonical document, so the message goes to the DLQ with its raw bytes.
 */
export function decodedLogsToOtlpJson(decoded: DecodedLogs): OtlpJsonLogsRequest {
  if (decoded.format === 'json_log') return contractLogToOtlpJson(decoded.record);
  return convertRequest(
    decoded.request,
    LOGS_REQUEST,
    decoded.format === 'otlp_proto',
  ) as OtlpJsonLogsRequest;
}

/** What decodeTracesMessage returned, in the canonical OTLP/JSON mapping. @throws DecodeError */
export function decodedTracesToOtlpJson(decoded: DecodedTraces): OtlpJsonTracesRequest {
  return convertRequest(
    decoded.request,
    TRACES_REQUEST,
    decoded.format === 'otlp_proto',
  ) as OtlpJsonTracesRequest;
}

/** @throws DecodeError when `root` nests objects or arrays deeper than MAX_DOCUMENT_DEPTH (checked without recursion). */
function requireBoundedDepth(root: unknown): void {
  const stack: [unknown, number][] = [[root, 0]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) continue;
    if (depth > MAX_DOCUMENT_DEPTH)
      throw new DecodeError('invalid_structure', `message nested deeper than ${MAX_DOCUMENT_DEPTH} levels`);
    for (const child of Array.isArray(value) ? value : Object.values(value)) stack.push([child, depth + 1]);
  }
}

/**
 * One `otel-logs` message (OTLP protobuf, OTLP/JSON or a contract JSON log record) as a canonical
 * OTLP/JSON ExportLogsServiceRequest, the format of the Collector's awss3 exporter (`marshaler: otlp_json`).
 * @throws DecodeError when the message is undecodable (see decodeLogsMessage), nested deeper than
 *   MAX_DOCUMENT_DEPTH, or a record cannot be represented (see decodedLogsToOtlpJson)
 */
export function logsMessageToOtlpJson(
  value: Uint8Array | null | undefined,
  headers?: MessageHeaders,
  encoding: LogsInputEncoding = 'auto',
  receivedMs?: number,
): OtlpJsonLogsRequest {
  const decoded = decodeLogsMessage(value, headers, encoding, receivedMs);
  requireBoundedDepth(decoded.format === 'json_log' ? decoded.record : decoded.request);
  return decodedLogsToOtlpJson(decoded);
}

/**
 * One `otel-traces` message (OTLP protobuf or OTLP/JSON) as a canonical OTLP/JSON ExportTraceServiceRequest.
 * @throws DecodeError when the message is undecodable, nested deeper than MAX_DOCUMENT_DEPTH, or a span
 *   cannot be represented
 */
export function tracesMessageToOtlpJson(
  value: Uint8Array | null | undefined,
  headers?: MessageHeaders,
  encoding: TracesInputEncoding = 'auto',
): OtlpJsonTracesRequest {
  const decoded = decodeTracesMessage(value, headers, encoding);
  requireBoundedDepth(decoded.request);
  return decodedTracesToOtlpJson(decoded);
}
