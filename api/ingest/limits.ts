import { PayloadTooLargeError } from '../errors';

/**
 * Deepest AnyValue nesting (arrays and key-value lists in bodies and attribute values) ingest accepts.
 * Real telemetry nests a few levels; without a bound a small body can nest thousands deep, and every
 * recursive decoder downstream (protobufjs, JSON.parse, the normalizer's flattening) pays for it or
 * overflows its stack.
 */
export const MAX_ANY_VALUE_DEPTH = 32;

/**
 * Deepest JSON nesting read before parsing: an OTLP/JSON record at the AnyValue bound nests about four
 * JSON levels per AnyValue level (value → kvlistValue → values → key-value → value) under about ten levels
 * of envelope, so this admits every request within MAX_ANY_VALUE_DEPTH and nothing far beyond it.
 */
export const MAX_JSON_DEPTH = 4 * MAX_ANY_VALUE_DEPTH + 16;

/** What one ingest request may hold, checked before anything is decoded into objects. */
export interface ElementLimits {
  /** Elements: protobuf messages, or JSON objects and array elements (INGEST_MAX_ITEMS). */
  maxItems: number;
}

/** The request holds more elements than INGEST_MAX_ITEMS. */
export function tooManyItems(maxItems: number): PayloadTooLargeError {
  return new PayloadTooLargeError(
    `request holds more than ${maxItems} elements (resources, scopes, records, attributes and values; INGEST_MAX_ITEMS)`,
  );
}

export function tooDeep(): PayloadTooLargeError {
  return new PayloadTooLargeError(
    `a body or attribute value nests arrays or key-value lists deeper than ${MAX_ANY_VALUE_DEPTH} levels`,
  );
}
