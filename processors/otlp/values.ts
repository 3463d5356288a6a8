import type { Attributes } from '../records';
import type { LongLike, OtlpAnyValue, OtlpId, OtlpInt64, OtlpKeyValue } from './types';

/**
 * Thrown by the value readers when one field of one record is malformed; the normalizers catch it per
 * record and report a RecordError, so the rest of the batch survives. Internal: never escapes normalize.
 */
export class InvalidFieldError extends Error {}

const HEX = /^[0-9a-fA-F]*$/;
const ALL_ZERO = /^0*$/;
const DIGITS = /^\d+$/;
const TWO_POW_32 = 4294967296n;

function isLong(value: object): value is LongLike {
  return typeof (value as LongLike).low === 'number' && typeof (value as LongLike).high === 'number';
}

/**
 * Trace/span id to lowercase hex, '' when absent or all zero (OTLP's "invalid id").
 * Bytes come from protobuf, hex strings from OTLP/JSON.
 */
export function idToHex(value: OtlpId | null | undefined, bytes: 8 | 16, field: string): string {
  if (value == null) return '';
  if (typeof value === 'string') {
    if (value.length === 0) return '';
    if (value.length !== bytes * 2 || !HEX.test(value)) {
      throw new InvalidFieldError(`${field} must be ${bytes * 2} hex characters`);
    }
    return ALL_ZERO.test(value) ? '' : value.toLowerCase();
  }
  if (value.length === 0) return '';
  if (value.length !== bytes)
    throw new InvalidFieldError(`${field} must be ${bytes} bytes, got ${value.length}`);
  const hex = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex');
  return ALL_ZERO.test(hex) ? '' : hex;
}

/** An unsigned 64-bit nanosecond time (Long, decimal string or number) as a decimal string; '0' when absent. */
export function nanosToString(value: OtlpInt64 | null | undefined, field: string): string {
  if (value == null) return '0';
  if (typeof value === 'string') {
    if (!DIGITS.test(value)) throw new InvalidFieldError(`${field} must be a decimal integer string`);
    return value.length > 1 && value.charCodeAt(0) === 48 ? BigInt(value).toString() : value;
  }
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0)
      throw new InvalidFieldError(`${field} must be a non-negative integer`);
    return String(value);
  }
  if (isLong(value)) {
    if (value.high === 0) return String(value.low >>> 0);
    return ((BigInt(value.high >>> 0) * TWO_POW_32) | BigInt(value.low >>> 0)).toString();
  }
  throw new InvalidFieldError(`${field} has an unsupported type`);
}

/**
 * The latest time a record may carry: ClickHouse's DateTime64(9) (the Collector exporter's timestamp
 * type) is a signed 64-bit count of nanoseconds, so it ends on 2262-04-11. A later time makes every
 * insert of its batch fail ("Decimal math overflow"), and retrying cannot help.
 */
export const MAX_TIME_UNIX_NANO = 9_223_372_036_854_775_807n;

/** A decimal nanosecond time that ClickHouse can store; later ones are a malformed field. */
export function storableNanos(nanos: string, field: string): string {
  if (nanos.length >= 19 && BigInt(nanos) > MAX_TIME_UNIX_NANO)
    throw new InvalidFieldError(`${field} is after 2262-04-11, the latest time a record can carry`);
  return nanos;
}

/** Milliseconds of a decimal nanosecond string (exact: dropping 6 digits is a floor division). */
export function nanosToMs(nanos: string): number {
  return nanos.length > 6 ? Number(nanos.slice(0, -6)) : 0;
}

/** Difference of two decimal nanosecond strings, floored at 0. */
export function nanosDiff(end: string, start: string): string {
  const diff = BigInt(end) - BigInt(start);
  return diff > 0n ? diff.toString() : '0';
}

/** Signed 64-bit integer from any encoding as a JS value: number when exactly representable, else string. */
function int64ToJs(value: OtlpInt64): number | string {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : value;
  }
  const big = BigInt.asIntN(64, (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0));
  const n = Number(big);
  return Number.isSafeInteger(n) ? n : big.toString();
}

function bytesToBase64(value: Uint8Array | string): string {
  return typeof value === 'string'
    ? value
    : Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
}

type JsValue = string | number | boolean | null | JsValue[] | { [key: string]: JsValue };

/** AnyValue as a plain JS value (for JSON rendering of arrays and maps). */
export function anyValueToJs(value: OtlpAnyValue | null | undefined): JsValue {
  if (value == null) return null;
  if (value.stringValue != null) return value.stringValue;
  if (value.boolValue != null) return value.boolValue;
  if (value.intValue != null) return int64ToJs(value.intValue);
  if (value.doubleValue != null)
    return typeof value.doubleValue === 'string' ? Number(value.doubleValue) : value.doubleValue;
  if (value.arrayValue != null) return (value.arrayValue.values ?? []).map(anyValueToJs);
  if (value.kvlistValue != null) {
    const out: { [key: string]: JsValue } = {};
    for (const kv of value.kvlistValue.values ?? []) {
      if (kv?.key != null) out[kv.key] = anyValueToJs(kv.value);
    }
    return out;
  }
  if (value.bytesValue != null) return bytesToBase64(value.bytesValue);
  return null;
}

/**
 * AnyValue rendered as a string the way the Collector's pdata `AsString()` does (what its ClickHouse
 * exporter stores): strings as is, scalars in their text form, bytes as base64, arrays and maps as JSON.
 */
export function anyValueToString(value: OtlpAnyValue | null | undefined): string {
  if (value == null) return '';
  if (value.stringValue != null) return value.stringValue;
  if (value.boolValue != null) return value.boolValue ? 'true' : 'false';
  if (value.intValue != null) {
    const v = value.intValue;
    if (typeof v === 'number' || typeof v === 'string') return String(v);
    return BigInt.asIntN(64, (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0)).toString();
  }
  if (value.doubleValue != null) return String(value.doubleValue);
  if (value.arrayValue != null || value.kvlistValue != null) return JSON.stringify(anyValueToJs(value));
  if (value.bytesValue != null) return bytesToBase64(value.bytesValue);
  return '';
}

/**
 * The prototype of every attribute map: an empty object without a prototype of its own, so a map's
 * chain holds no Object.prototype and keys such as `__proto__`, `constructor` or `toString` are
 * stored and read like any other.
 */
const ATTRIBUTES_PROTOTYPE = Object.freeze(Object.create(null) as object);

/**
 * Creates an empty attribute map. Not `Object.create(null)`: V8 makes such an object a hash table
 * from the start ("dictionary mode"), and every record has several maps, built key by key (~400
 * bytes allocated per attribute in a heap profile of the benchmark, most of it the tables' growth).
 * A map whose prototype is an empty prototype-less object is an ordinary fast object with the same
 * safety (see ATTRIBUTES_PROTOTYPE).
 */
export function emptyAttributes(): Attributes {
  return Object.create(ATTRIBUTES_PROTOTYPE) as Attributes;
}

/** OTLP key/values as a flat string map (later duplicates win). */
export function toAttributes(
  values: readonly (OtlpKeyValue | null | undefined)[] | null | undefined,
): Attributes {
  const out = emptyAttributes();
  if (values == null) return out;
  for (const kv of values) {
    if (kv?.key != null) out[kv.key] = anyValueToString(kv.value);
  }
  return out;
}
