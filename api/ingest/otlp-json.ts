import { StackLensError } from '../../common/errors';
import { BadPayloadError } from '../errors';
import { parseBoundedJson } from './json-bounds';
import { MAX_ANY_VALUE_DEPTH, tooDeep, type ElementLimits } from './limits';
import type { Chunk, Framing, Rejections, ScannedResource, ScannedScope } from './otlp-request';

/** OTLP/JSON field names of one signal (lowerCamelCase, as the OTLP/HTTP spec requires). */
interface JsonLayout {
  resources: 'resourceLogs' | 'resourceSpans';
  scopes: 'scopeLogs' | 'scopeSpans';
  records: 'logRecords' | 'spans';
  checkRecord(record: Record<string, unknown>): void;
}

/** A record is malformed (the rest of the request is still accepted); the message says how. */
class RecordProblem extends StackLensError {}

const HEX = /^[0-9a-fA-F]*$/;

function checkId(record: Record<string, unknown>, name: string, hexChars: number, required: boolean): void {
  const value = record[name];
  if ((value === undefined || value === null || value === '') && !required) return;
  if (typeof value !== 'string' || value.length !== hexChars || !HEX.test(value)) {
    throw new RecordProblem(
      `${name} must be ${hexChars} hex characters${required ? '' : ' or empty'}, got ${JSON.stringify(value)?.slice(0, 40)}`,
    );
  }
  if (required && /^0+$/.test(value)) throw new RecordProblem(`${name} is all zeros`);
}

const UINT64_MAX = 18446744073709551615n;

/** OTLP/JSON timestamps are uint64 nanoseconds, as a decimal string or a JSON number. */
function checkTimestamp(record: Record<string, unknown>, name: string): void {
  const value = record[name];
  if (value === undefined || value === null) return;
  const ok =
    (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) ||
    (typeof value === 'string' && /^\d{1,20}$/.test(value) && BigInt(value) <= UINT64_MAX);
  if (!ok) {
    throw new RecordProblem(
      `${name} must be unsigned nanoseconds since the epoch, got ${JSON.stringify(value).slice(0, 40)}`,
    );
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Walks an AnyValue's arrays and key-value lists; throws past MAX_ANY_VALUE_DEPTH. */
function checkAnyValue(value: unknown, depth: number): void {
  if (depth > MAX_ANY_VALUE_DEPTH) throw tooDeep();
  if (!isObject(value)) return;
  const array = value.arrayValue;
  if (isObject(array) && Array.isArray(array.values)) {
    for (const v of array.values) checkAnyValue(v, depth + 1);
  }
  const kvlist = value.kvlistValue;
  if (isObject(kvlist) && Array.isArray(kvlist.values)) {
    for (const kv of kvlist.values) if (isObject(kv)) checkAnyValue(kv.value, depth + 1);
  }
}

function checkAttributes(owner: Record<string, unknown>, name = 'attributes'): void {
  const attributes = owner[name];
  if (attributes === undefined || attributes === null) return;
  if (!Array.isArray(attributes)) throw new RecordProblem(`${name} must be an array of key-value pairs`);
  for (const kv of attributes) {
    if (!isObject(kv) || typeof kv.key !== 'string') {
      throw new RecordProblem(`${name} must hold objects with a string "key"`);
    }
    checkAnyValue(kv.value, 1);
  }
}

function checkNested(
  record: Record<string, unknown>,
  name: string,
  check: (item: Record<string, unknown>) => void,
): void {
  const items = record[name];
  if (items === undefined || items === null) return;
  if (!Array.isArray(items)) throw new RecordProblem(`${name} must be an array`);
  for (const item of items) {
    if (!isObject(item)) throw new RecordProblem(`${name} must hold objects`);
    check(item);
  }
}

const LAYOUTS: Record<'logs' | 'traces', JsonLayout> = {
  logs: {
    resources: 'resourceLogs',
    scopes: 'scopeLogs',
    records: 'logRecords',
    checkRecord(record) {
      checkId(record, 'traceId', 32, false);
      checkId(record, 'spanId', 16, false);
      checkTimestamp(record, 'timeUnixNano');
      checkTimestamp(record, 'observedTimeUnixNano');
      checkAnyValue(record.body, 1);
      checkAttributes(record);
    },
  },
  traces: {
    resources: 'resourceSpans',
    scopes: 'scopeSpans',
    records: 'spans',
    checkRecord(record) {
      checkId(record, 'traceId', 32, true);
      checkId(record, 'spanId', 16, true);
      checkId(record, 'parentSpanId', 16, false);
      checkTimestamp(record, 'startTimeUnixNano');
      checkTimestamp(record, 'endTimeUnixNano');
      checkAttributes(record);
      checkNested(record, 'events', (event) => {
        checkTimestamp(event, 'timeUnixNano');
        checkAttributes(event);
      });
      checkNested(record, 'links', (link) => {
        checkId(link, 'traceId', 32, true);
        checkId(link, 'spanId', 16, true);
        checkAttributes(link);
      });
    },
  },
};

export type JsonResource = ScannedResource<string, string>;

function arrayField(owner: Record<string, unknown>, name: string, path: string): unknown[] {
  const value = owner[name];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new BadPayloadError(`${path}${name}: must be an array`);
  return value;
}

/** The object without one field, as JSON (the header repeated in every chunk). */
function headerOf(owner: Record<string, unknown>, without: string): string {
  const { [without]: _omitted, ...rest } = owner;
  return JSON.stringify(rest);
}

/**
 * Parses an OTLP/JSON export request within INGEST_MAX_ITEMS and MAX_JSON_DEPTH (checked on the bytes,
 * before JSON.parse), checks each record, and returns the accepted records re-serialized one by one.
 * @throws PayloadTooLargeError past the element or depth bounds
 * @throws BadPayloadError when the body is not JSON or its envelope (outside the records) is malformed
 */
export function scanJsonRequest(
  signal: 'logs' | 'traces',
  body: Buffer,
  limits: ElementLimits,
  rejections: Rejections,
): JsonResource[] {
  const layout = LAYOUTS[signal];
  const parsed = parseBoundedJson(body, limits);
  if (!isObject(parsed)) throw new BadPayloadError(`body must be a JSON object with ${layout.resources}`);
  const resources: JsonResource[] = [];
  arrayField(parsed, layout.resources, '').forEach((resource, i) => {
    const resourcePath = `${layout.resources}.${i}.`;
    if (!isObject(resource)) throw new BadPayloadError(`${layout.resources}.${i}: must be an object`);
    const scopes: ScannedScope<string, string>[] = [];
    arrayField(resource, layout.scopes, resourcePath).forEach((scope, j) => {
      const scopePath = `${resourcePath}${layout.scopes}.${j}`;
      if (!isObject(scope)) throw new BadPayloadError(`${scopePath}: must be an object`);
      const records: { ref: string; bytes: number }[] = [];
      for (const record of arrayField(scope, layout.records, `${scopePath}.`)) {
        try {
          if (!isObject(record)) throw new RecordProblem('record is not an object');
          layout.checkRecord(record);
          const json = JSON.stringify(record);
          records.push({ ref: json, bytes: Buffer.byteLength(json) });
        } catch (error) {
          if (!(error instanceof RecordProblem)) throw error;
          rejections.add(error.message);
        }
      }
      const header = headerOf(scope, layout.records);
      scopes.push({ header, headerBytes: Buffer.byteLength(header), records });
    });
    const header = headerOf(resource, layout.scopes);
    resources.push({ header, headerBytes: Buffer.byteLength(header), scopes });
  });
  return resources;
}

/** JSON framing upper bounds: `{"resourceSpans":[]}`, `,"scopeSpans":[]` and a comma, likewise. */
export const JSON_FRAMING: Framing = {
  envelope: 24,
  resource: 20,
  scope: 20,
  record: (bytes) => bytes + 1,
};

/** `{…}` opened for more fields: `{` for an empty object, else the object without its closing brace. */
function open(header: string): string {
  return header === '{}' ? '{' : `${header.slice(0, -1)},`;
}

/** One chunk as an OTLP/JSON export request. */
export function encodeJsonChunk(signal: 'logs' | 'traces', chunk: Chunk<string, string>): Buffer {
  const layout = LAYOUTS[signal];
  const resources = chunk.map((resource) => {
    const scopes = resource.scopes.map(
      (scope) => `${open(scope.header)}"${layout.records}":[${scope.records.map((r) => r.ref).join(',')}]}`,
    );
    return `${open(resource.header)}"${layout.scopes}":[${scopes.join(',')}]}`;
  });
  return Buffer.from(`{"${layout.resources}":[${resources.join(',')}]}`);
}
