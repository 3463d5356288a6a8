import { RecordLimitsError } from '../errors';
import type { OtlpAnyValue, OtlpKeyValue } from '../otlp/types';
import { anyValueToJs, anyValueToString, emptyAttributes, InvalidFieldError } from '../otlp/values';
import type { Attributes } from '../records';

/**
 * Bounds on one normalized record, so that whatever a producer sends, the record fits every internal
 * topic it travels through (repartition topics and changelogs carry it as JSON; Kafka's default message
 * limit is 1 MiB). Sizes are counted in bytes of the value's JSON form (UTF-8 of the escaped string):
 * the worst case, since a control character takes 6 bytes as `\u0000` where it took 1 on the wire.
 *
 * What is cut is marked: the record gets the attribute `stacklens.truncated` (TRUNCATED_ATTRIBUTE), a JSON
 * object naming each truncated field with its original size in bytes and counting dropped attributes,
 * events and links (see Truncations). Nothing is dead-lettered for its size: the record keeps its
 * identity, time, severity, ids and whatever fits.
 */
export interface RecordLimits {
  /** Longest body (log) — RECORD_MAX_BODY_BYTES. */
  maxBodyBytes: number;
  /** Longest attribute value, and longest name, status message, schema URL... — RECORD_MAX_ATTRIBUTE_VALUE_BYTES. */
  maxAttributeValueBytes: number;
  /** Most attributes per map, and most events and links per span — RECORD_MAX_ATTRIBUTES. */
  maxAttributes: number;
  /** Deepest nesting of arrays and maps in one value; deeper values render as null — RECORD_MAX_VALUE_DEPTH. */
  maxValueDepth: number;
  /**
   * Budget of everything variable in a record (body, names, all attribute maps with their keys, events,
   * links) — RECORD_MAX_BYTES. Filled in this order: resource attributes (at most a quarter of it),
   * scope attributes (an eighth), names and messages, body, record attributes, events, links; what no
   * longer fits is truncated or dropped. The promoted custom attributes (8 copies of attribute values,
   * each within maxAttributeValueBytes) and the fixed fields come on top.
   */
  maxRecordBytes: number;
}

/**
 * Defaults: a 256 KiB body is Loki's default `max_line_size`; 128 attributes, events and links per span
 * are the OpenTelemetry SDKs' defaults (OTEL_ATTRIBUTE_COUNT_LIMIT, OTEL_SPAN_EVENT_COUNT_LIMIT,
 * OTEL_SPAN_LINK_COUNT_LIMIT); 16 KiB per attribute value keeps a typical `exception.stacktrace` whole
 * where the Collector's usual `truncate_all` recipes cut at 4 KiB; a 512 KiB record budget plus 8 × 16 KiB
 * of promoted copies and the fixed fields keeps a record's JSON at about 650 KiB, well under 1 MiB.
 */
export const DEFAULT_RECORD_LIMITS: Readonly<RecordLimits> = {
  maxBodyBytes: 256 * 1024,
  maxAttributeValueBytes: 16 * 1024,
  maxAttributes: 128,
  maxValueDepth: 32,
  maxRecordBytes: 512 * 1024,
};

/**
 * The largest a record's JSON may grow to with these limits, allowing 8 KiB for the fixed fields (ids,
 * times, numbers, field names) and the truncation marker: resolveRecordLimits keeps it within 896 KiB,
 * so a record plus the envelope of a repartition or changelog message stays under 1 MiB.
 */
export function maxSerializedRecordBytes(limits: RecordLimits): number {
  return limits.maxRecordBytes + 8 * limits.maxAttributeValueBytes + 8 * 1024;
}

/** The ceiling of maxSerializedRecordBytes: a record plus a message envelope stays under 1 MiB. */
export const MAX_SERIALIZED_RECORD_BYTES = 896 * 1024;

/** The attribute that marks a truncated record. */
export const TRUNCATED_ATTRIBUTE = 'stacklens.truncated';

/** Keys longer than this (JSON bytes) are dropped with their value: no real attribute key comes close. */
const MAX_KEY_BYTES = 1024;
/** JSON punctuation around one map entry: `"key":"value",`. */
const ENTRY_OVERHEAD = 6;
/** How many truncated fields the marker names; more are only counted, so the marker stays small. */
const MAX_MARKER_FIELDS = 16;
/** Marker field names are cut to this many characters. */
const MAX_MARKER_NAME = 100;

/** Complete limits from partial ones. @throws RecordLimitsError when a bound is out of range. */
export function resolveRecordLimits(partial: Partial<RecordLimits> = {}): RecordLimits {
  const limits = { ...DEFAULT_RECORD_LIMITS, ...partial };
  const problems: string[] = [];
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || value < 1) problems.push(`${name} must be a positive whole number`);
  }
  if (limits.maxAttributeValueBytes < 256) problems.push('maxAttributeValueBytes must be at least 256');
  if (limits.maxBodyBytes > limits.maxRecordBytes)
    problems.push('maxBodyBytes must not exceed maxRecordBytes');
  if (maxSerializedRecordBytes(limits) > MAX_SERIALIZED_RECORD_BYTES) {
    problems.push(
      `maxRecordBytes + 8 × maxAttributeValueBytes + 8 KiB must be at most ${MAX_SERIALIZED_RECORD_BYTES} bytes (896 KiB)`,
    );
  }
  if (problems.length > 0) throw new RecordLimitsError(problems.join('; '));
  return limits;
}

/**
 * Bytes of one UTF-16 unit (or surrogate pair, width 2) of a string once JSON-escaped and UTF-8
 * encoded, packed as `bytes * 4 + width`: this runs for every character of every record, so it
 * returns a number rather than allocating a pair.
 */
function unitBytes(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c >= 0x20 && c < 0x80) return c === 0x22 || c === 0x5c ? 9 : 5;
  if (c < 0x20) return c === 8 || c === 9 || c === 10 || c === 12 || c === 13 ? 9 : 25;
  if (c < 0x800) return 9;
  if (c >= 0xd800 && c <= 0xdbff) {
    const next = s.charCodeAt(i + 1);
    // A pair is 4 bytes of UTF-8; JSON.stringify escapes a lone surrogate as \udxxx.
    return next >= 0xdc00 && next <= 0xdfff ? 18 : 25;
  }
  if (c >= 0xdc00 && c <= 0xdfff) return 25;
  return 13;
}

/**
 * Printable ASCII other than `"` and `\\`: one JSON byte per character. Most telemetry text is only
 * that, and one native scan (linear: a single character class) is ~3× faster than unitBytes per
 * character, which runs for every string of every record.
 */
const PLAIN_JSON_TEXT = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** Bytes of a string's JSON form (without the quotes). */
export function jsonBytes(s: string): number {
  if (PLAIN_JSON_TEXT.test(s)) return s.length;
  let bytes = 0;
  for (let i = 0; i < s.length;) {
    const packed = unitBytes(s, i);
    bytes += packed >> 2;
    i += packed & 3;
  }
  return bytes;
}

interface Fitted {
  value: string;
  /** JSON bytes of `value`. */
  bytes: number;
  /** JSON bytes of the input, when it was cut. */
  cutFrom?: number;
}

/** The longest prefix of `s` whose JSON form fits `max` bytes (never splitting a surrogate pair). */
export function fitString(s: string, max: number): Fitted {
  if (s.length <= max && PLAIN_JSON_TEXT.test(s)) return { value: s, bytes: s.length };
  let bytes = 0;
  let i = 0;
  while (i < s.length) {
    const packed = unitBytes(s, i);
    if (bytes + (packed >> 2) > max) break;
    bytes += packed >> 2;
    i += packed & 3;
  }
  if (i === s.length) return { value: s, bytes };
  return { value: s.slice(0, i), bytes, cutFrom: bytes + jsonBytes(s.slice(i)) };
}

/**
 * What was cut from one record, rendered as the TRUNCATED_ATTRIBUTE value, e.g.
 * `{"body":300017,"log_attributes.stack":40000,"dropped":{"log_attributes":3},"more":2}`: truncated
 * fields with their original JSON bytes (the first MAX_MARKER_FIELDS; `more` counts the rest) and
 * dropped entries per map or list.
 */
export class Truncations {
  private readonly fields: [string, number][] = [];
  private readonly dropped = new Map<string, number>();
  private more = 0;

  cut(field: string, originalBytes: number): void {
    if (this.fields.length < MAX_MARKER_FIELDS)
      this.fields.push([field.slice(0, MAX_MARKER_NAME), originalBytes]);
    else this.more++;
  }

  drop(where: string, count = 1): void {
    this.dropped.set(where, (this.dropped.get(where) ?? 0) + count);
  }

  /** Records what another set holds (the shared resource or scope map's cuts, for each of its records). */
  include(other: Truncations): void {
    for (const [field, bytes] of other.fields) this.cut(field, bytes);
    this.more += other.more;
    for (const [where, count] of other.dropped) this.drop(where, count);
  }

  get empty(): boolean {
    return this.fields.length === 0 && this.dropped.size === 0 && this.more === 0;
  }

  /** The marker, or undefined when nothing was cut. */
  marker(): string | undefined {
    if (this.empty) return undefined;
    const out: Record<string, number | Record<string, number>> = Object.create(null) as Record<
      string,
      number
    >;
    for (const [field, bytes] of this.fields) out[field] = bytes;
    if (this.dropped.size > 0) out.dropped = Object.fromEntries(this.dropped);
    if (this.more > 0) out.more = this.more;
    return JSON.stringify(out);
  }
}

/** A string field of an OTLP message: absent is '', anything but a string is a malformed record. */
export function textField(value: unknown, field: string): string {
  if (value == null) return '';
  if (typeof value !== 'string') throw new InvalidFieldError(`${field} must be a string`);
  return value;
}

/**
 * A string bounded to `max` JSON bytes, noting the cut under `field`. Used for names, messages and
 * schema URLs (bounded like attribute values) and for bodies.
 */
export function boundText(value: string, max: number, field: string, truncations: Truncations): Fitted {
  const fitted = fitString(value, max);
  if (fitted.cutFrom !== undefined) truncations.cut(field, fitted.cutFrom);
  return fitted;
}

type JsValue = ReturnType<typeof anyValueToJs>;

/** Whether the value renders as JSON: an array or map with no scalar field (which would win, see anyValueToJs). */
function isContainer(value: OtlpAnyValue): boolean {
  return (
    value.stringValue == null &&
    value.boolValue == null &&
    value.intValue == null &&
    value.doubleValue == null &&
    (value.arrayValue != null || value.kvlistValue != null)
  );
}

/**
 * AnyValue as a string, as anyValueToString renders it (pdata's AsString), except that arrays and maps
 * nested deeper than `maxDepth` render as null, so neither the rendering nor JSON.stringify recurses
 * without bound. Strings must be strings: any other type is a malformed record.
 */
export function renderAnyValue(
  value: OtlpAnyValue | null | undefined,
  maxDepth: number,
  field: string,
  truncations: Truncations,
): string {
  if (value == null) return '';
  if (typeof value !== 'object') throw new InvalidFieldError(`${field} must be an AnyValue object`);
  if (value.stringValue != null) return textField(value.stringValue, `${field}.stringValue`);
  if (!isContainer(value)) return anyValueToString(value);
  let tooDeep = false;
  const toJs = (v: OtlpAnyValue | null | undefined, depth: number): JsValue => {
    if (v == null || typeof v !== 'object') return null;
    // A scalar (or a value whose scalar field wins over its container) renders without recursion.
    if (!isContainer(v)) return anyValueToJs(v);
    if (depth >= maxDepth) {
      tooDeep = true;
      return null;
    }
    if (v.arrayValue != null) {
      const values = v.arrayValue.values ?? [];
      if (!Array.isArray(values)) throw new InvalidFieldError(`${field}: arrayValue.values must be an array`);
      return values.map((item) => toJs(item, depth + 1));
    }
    const entries = v.kvlistValue!.values ?? [];
    if (!Array.isArray(entries)) throw new InvalidFieldError(`${field}: kvlistValue.values must be an array`);
    const out: { [key: string]: JsValue } = {};
    for (const kv of entries) {
      if (kv?.key != null) out[textField(kv.key, `${field} key`)] = toJs(kv.value, depth + 1);
    }
    return out;
  };
  const rendered = JSON.stringify(toJs(value, 0));
  if (tooDeep) truncations.cut(`${field} (deeper than ${maxDepth})`, jsonBytes(rendered));
  return rendered;
}

export interface BoundedAttributes {
  value: Attributes;
  /** JSON bytes of the map's entries (keys, values, punctuation). */
  bytes: number;
}

/**
 * OTLP key/values as a flat map (later duplicates win, as toAttributes), bounded: at most
 * `limits.maxAttributes` keys, each value within `limits.maxAttributeValueBytes`, all within `budget`
 * bytes; keys over MAX_KEY_BYTES and entries past the count or the budget are dropped. `field` names the
 * map in the marker.
 */
export function boundAttributes(
  values: readonly (OtlpKeyValue | null | undefined)[] | null | undefined,
  limits: RecordLimits,
  budget: number,
  field: string,
  truncations: Truncations,
): BoundedAttributes {
  const out = emptyAttributes();
  let count = 0;
  let bytes = 0;
  if (values == null) return { value: out, bytes };
  if (!Array.isArray(values)) throw new InvalidFieldError(`${field} must be an array`);
  for (const kv of values) {
    if (kv?.key == null) continue;
    const key = textField(kv.key, `${field} key`);
    const keyBytes = jsonBytes(key);
    if (keyBytes > MAX_KEY_BYTES) {
      truncations.drop(field);
      continue;
    }
    // A later duplicate replaces the earlier entry (rare: its size is worked out again, rather than
    // keeping every entry's size in a map for every record).
    const earlier = out[key];
    const previous = earlier === undefined ? undefined : keyBytes + jsonBytes(earlier) + ENTRY_OVERHEAD;
    if (previous === undefined && count >= limits.maxAttributes) {
      truncations.drop(field);
      continue;
    }
    const room = budget - (bytes - (previous ?? 0)) - keyBytes - ENTRY_OVERHEAD;
    if (room < 0) {
      truncations.drop(field);
      continue;
    }
    // A string value (nearly every attribute) needs no rendering, and the field's name is built only
    // when something is reported: two concatenations per attribute were most of what bounding allocated.
    const value = kv.value;
    const rendered =
      typeof value?.stringValue === 'string'
        ? value.stringValue
        : renderAnyValue(value, limits.maxValueDepth, `${field}.${key}`, truncations);
    const fitted = fitString(rendered, Math.min(limits.maxAttributeValueBytes, room));
    if (fitted.cutFrom !== undefined) truncations.cut(`${field}.${key}`, fitted.cutFrom);
    const entry = keyBytes + fitted.bytes + ENTRY_OVERHEAD;
    bytes += entry - (previous ?? 0);
    if (previous === undefined) count += 1;
    out[key] = fitted.value;
  }
  return { value: out, bytes };
}

/**
 * The resource or scope part of a record, bounded once and shared by its records: its attributes get
 * `share` of the record budget, its strings the attribute value bound.
 */
export function sharedPart(
  attributes: readonly (OtlpKeyValue | null | undefined)[] | null | undefined,
  strings: Record<string, unknown>,
  limits: RecordLimits,
  share: number,
  field: string,
  truncations: Truncations,
): { attributes: BoundedAttributes; strings: Record<string, string>; bytes: number } {
  const bounded = boundAttributes(attributes, limits, share, `${field}_attributes`, truncations);
  let bytes = bounded.bytes;
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(strings)) {
    const fitted = boundText(
      textField(value, `${field}.${name}`),
      limits.maxAttributeValueBytes,
      `${field}.${name}`,
      truncations,
    );
    out[name] = fitted.value;
    bytes += fitted.bytes;
  }
  return { attributes: bounded, strings: out, bytes };
}
