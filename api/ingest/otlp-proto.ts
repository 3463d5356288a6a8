import { StackLensError } from '../../common/errors';
import { BadPayloadError } from '../errors';
import { MAX_ANY_VALUE_DEPTH, tooDeep, tooManyItems, type ElementLimits } from './limits';
import type { Chunk, Framing, Rejections, ScannedResource, ScannedScope } from './otlp-request';

/**
 * OTLP protobuf requests read at the wire level, without protobufjs: one pass over the bytes that counts
 * every embedded message against INGEST_MAX_ITEMS and every AnyValue level against MAX_ANY_VALUE_DEPTH
 * before anything is decoded, checks the wire type of every known field, and checks each record's ids.
 * It allocates nothing per element but the records' offsets, so a request of a million empty messages
 * costs one linear scan up to the limit and a 413. Records keep their exact bytes: what is produced is
 * the client's encoding, re-framed.
 *
 * Field numbers are those of opentelemetry/proto (collector/{logs,trace}/v1, logs/v1, trace/v1,
 * common/v1, resource/v1); unknown fields are skipped, as protobuf readers do.
 */

const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;

/** A record is malformed (the rest of the request is still read); the message says how. */
class RecordProblem extends StackLensError {}

/** Where a structural error is reported: as a record rejection inside a record, else for the request. */
type Fail = (problem: string) => never;

const failRequest: Fail = (problem) => {
  throw new BadPayloadError(`body is not a protobuf OTLP export request: ${problem}`);
};
const failRecord: Fail = (problem) => {
  throw new RecordProblem(problem);
};

class Reader {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    readonly end: number,
    readonly fail: Fail,
  ) {}

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** A varint as a number; exact up to 2^53, which covers every tag and length. */
  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const byte = this.buf[this.pos++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
    return this.fail('varint longer than 10 bytes');
  }

  /** Reads a tag; returns [field, wire type]. */
  tag(): [number, number] {
    const tag = this.varint();
    const field = Math.floor(tag / 8);
    if (field === 0) this.fail('field number 0');
    return [field, tag % 8];
  }

  /** The bounds of a length-delimited value, advancing past it. */
  len(): [number, number] {
    const length = this.varint();
    const start = this.pos;
    if (length > this.end - start) this.fail('length-delimited field overruns its message');
    this.pos = start + length;
    return [start, this.pos];
  }

  skip(wire: number): void {
    switch (wire) {
      case VARINT:
        this.varint();
        return;
      case I64:
        this.advance(8);
        return;
      case LEN:
        this.len();
        return;
      case I32:
        this.advance(4);
        return;
      default:
        this.fail(`unsupported wire type ${wire}`);
    }
  }

  /** Skips a field after checking its wire type. */
  expect(field: number, wire: number, want: number, name: string): void {
    if (wire !== want) this.fail(`${name} (field ${field}) has wire type ${wire}, expected ${want}`);
    this.skip(wire);
  }

  private advance(n: number): void {
    if (n > this.end - this.pos) this.fail('truncated fixed-width field');
    this.pos += n;
  }

  /** A reader over the length-delimited value at the current position, for a nested message. */
  nested(field: number, wire: number, name: string, fail: Fail = this.fail): Reader {
    if (wire !== LEN) this.fail(`${name} (field ${field}) has wire type ${wire}, expected ${LEN}`);
    const [start, end] = this.len();
    return new Reader(this.buf, start, end, fail);
  }
}

/** The record-level layout of one signal: field numbers that differ between logs and spans. */
interface SignalLayout {
  noun: string;
  walkRecord(walker: Walker, r: Reader): void;
}

class Walker {
  items = 0;
  constructor(private readonly limits: ElementLimits) {}

  count(): void {
    if (++this.items > this.limits.maxItems) throw tooManyItems(this.limits.maxItems);
  }

  keyValue(r: Reader, depth: number): void {
    this.count();
    while (!r.done) {
      const [field, wire] = r.tag();
      if (field === 1) r.expect(field, wire, LEN, 'key');
      else if (field === 2) this.anyValue(r.nested(field, wire, 'value'), depth);
      else r.skip(wire);
    }
  }

  /** AnyValue at nesting `depth` (1 for a body or an attribute's value). */
  anyValue(r: Reader, depth: number): void {
    if (depth > MAX_ANY_VALUE_DEPTH) throw tooDeep();
    this.count();
    while (!r.done) {
      const [field, wire] = r.tag();
      switch (field) {
        case 1:
        case 7:
          r.expect(field, wire, LEN, field === 1 ? 'string_value' : 'bytes_value');
          break;
        case 2:
        case 3:
          r.expect(field, wire, VARINT, field === 2 ? 'bool_value' : 'int_value');
          break;
        case 4:
          r.expect(field, wire, I64, 'double_value');
          break;
        case 5: {
          const list = r.nested(field, wire, 'array_value');
          this.count();
          while (!list.done) {
            const [f, w] = list.tag();
            if (f === 1) this.anyValue(list.nested(f, w, 'values'), depth + 1);
            else list.skip(w);
          }
          break;
        }
        case 6: {
          const list = r.nested(field, wire, 'kvlist_value');
          this.count();
          while (!list.done) {
            const [f, w] = list.tag();
            if (f === 1) this.keyValue(list.nested(f, w, 'values'), depth + 1);
            else list.skip(w);
          }
          break;
        }
        default:
          r.skip(wire);
      }
    }
  }

  /** A message whose only nested messages are KeyValue attributes at `attributesField`. */
  withAttributes(r: Reader, attributesField: number): void {
    this.count();
    while (!r.done) {
      const [field, wire] = r.tag();
      if (field === attributesField) this.keyValue(r.nested(field, wire, 'attributes'), 1);
      else r.skip(wire);
    }
  }
}

/** Checks an id's length: `required` ids must be `bytes` long and not all zero, others may be empty. */
function checkId(
  r: Reader,
  field: number,
  wire: number,
  name: string,
  bytes: number,
  required: boolean,
): boolean {
  const id = r.nested(field, wire, name);
  const length = id.end - id.pos;
  if (length === 0 && !required) return true;
  if (length !== bytes) {
    r.fail(`${name} is ${length} bytes (must be ${bytes}${required ? '' : ' or empty'})`);
  }
  if (required && id.buf.subarray(id.pos, id.end).every((b) => b === 0)) r.fail(`${name} is all zeros`);
  return true;
}

const LOGS: SignalLayout = {
  noun: 'log records',
  walkRecord(walker, r) {
    walker.count();
    while (!r.done) {
      const [field, wire] = r.tag();
      switch (field) {
        case 1:
        case 11:
          r.expect(field, wire, I64, field === 1 ? 'time_unix_nano' : 'observed_time_unix_nano');
          break;
        case 2:
        case 7:
          r.expect(field, wire, VARINT, field === 2 ? 'severity_number' : 'dropped_attributes_count');
          break;
        case 3:
        case 12:
          r.expect(field, wire, LEN, field === 3 ? 'severity_text' : 'event_name');
          break;
        case 5:
          walker.anyValue(r.nested(field, wire, 'body'), 1);
          break;
        case 6:
          walker.keyValue(r.nested(field, wire, 'attributes'), 1);
          break;
        case 8:
          r.expect(field, wire, I32, 'flags');
          break;
        case 9:
          checkId(r, field, wire, 'trace_id', 16, false);
          break;
        case 10:
          checkId(r, field, wire, 'span_id', 8, false);
          break;
        default:
          r.skip(wire);
      }
    }
  },
};

const SPANS: SignalLayout = {
  noun: 'spans',
  walkRecord(walker, r) {
    walker.count();
    let traceId = false;
    let spanId = false;
    while (!r.done) {
      const [field, wire] = r.tag();
      switch (field) {
        case 1:
          traceId = checkId(r, field, wire, 'trace_id', 16, true);
          break;
        case 2:
          spanId = checkId(r, field, wire, 'span_id', 8, true);
          break;
        case 4:
          checkId(r, field, wire, 'parent_span_id', 8, false);
          break;
        case 3:
        case 5:
          r.expect(field, wire, LEN, field === 3 ? 'trace_state' : 'name');
          break;
        case 6:
        case 10:
        case 12:
        case 14:
          r.expect(field, wire, VARINT, 'kind or dropped count');
          break;
        case 7:
        case 8:
          r.expect(field, wire, I64, field === 7 ? 'start_time_unix_nano' : 'end_time_unix_nano');
          break;
        case 9:
          walker.keyValue(r.nested(field, wire, 'attributes'), 1);
          break;
        case 11:
          walker.withAttributes(r.nested(field, wire, 'events'), 3);
          break;
        case 13: {
          const link = r.nested(field, wire, 'links');
          walker.count();
          while (!link.done) {
            const [f, w] = link.tag();
            if (f === 1) checkId(link, f, w, 'links.trace_id', 16, true);
            else if (f === 2) checkId(link, f, w, 'links.span_id', 8, true);
            else if (f === 4) walker.keyValue(link.nested(f, w, 'links.attributes'), 1);
            else link.skip(w);
          }
          break;
        }
        case 15:
          r.nested(field, wire, 'status');
          walker.count();
          break;
        case 16:
          r.expect(field, wire, I32, 'flags');
          break;
        default:
          r.skip(wire);
      }
    }
    if (!traceId) r.fail('trace_id is empty (a span must have one)');
    if (!spanId) r.fail('span_id is empty (a span must have one)');
  },
};

export type ProtoResource = ScannedResource<Buffer, number>;

/**
 * Scans an Export{Logs,Trace}ServiceRequest. Records with bad ids or a malformed encoding are added to
 * `rejections` and left out; the records kept are byte offsets into `body`.
 * @throws PayloadTooLargeError past INGEST_MAX_ITEMS or MAX_ANY_VALUE_DEPTH
 * @throws BadPayloadError when the request's envelope (outside any record) does not decode
 */
export function scanProtoRequest(
  signal: 'logs' | 'traces',
  body: Buffer,
  limits: ElementLimits,
  rejections: Rejections,
): ProtoResource[] {
  const layout = signal === 'logs' ? LOGS : SPANS;
  const walker = new Walker(limits);
  const resources: ProtoResource[] = [];
  const request = new Reader(body, 0, body.length, failRequest);
  while (!request.done) {
    const [field, wire] = request.tag();
    if (field !== 1) {
      request.skip(wire);
      continue;
    }
    const r = request.nested(field, wire, 'resource entry');
    walker.count();
    const header: Buffer[] = [];
    const scopes: ScannedScope<Buffer, number>[] = [];
    while (!r.done) {
      const fieldStart = r.pos;
      const [f, w] = r.tag();
      if (f === 2) {
        const scope = scanScope(walker, layout, r.nested(f, w, 'scope entry'), rejections);
        if (scope !== undefined) scopes.push(scope);
        continue;
      }
      if (f === 1) walker.withAttributes(r.nested(f, w, 'resource'), 1);
      else if (f === 3) r.expect(f, w, LEN, 'schema_url');
      else r.skip(w);
      header.push(body.subarray(fieldStart, r.pos));
    }
    // A resource without records has nothing to produce: it is dropped before anything is built for it.
    if (scopes.length > 0) {
      const headerBuf = concat(header);
      resources.push({ header: headerBuf, headerBytes: headerBuf.length, scopes });
    }
  }
  return resources;
}

function scanScope(
  walker: Walker,
  layout: SignalLayout,
  r: Reader,
  rejections: Rejections,
): ScannedScope<Buffer, number> | undefined {
  walker.count();
  const header: Buffer[] = [];
  const records: { ref: number; bytes: number }[] = [];
  while (!r.done) {
    const fieldStart = r.pos;
    const [f, w] = r.tag();
    if (f === 2) {
      const record = r.nested(f, w, 'record', failRecord);
      const start = record.pos;
      try {
        layout.walkRecord(walker, record);
        records.push({ ref: start, bytes: record.end - start });
      } catch (error) {
        if (!(error instanceof RecordProblem)) throw error;
        rejections.add(error.message);
      }
      continue;
    }
    if (f === 1) walker.withAttributes(r.nested(f, w, 'scope'), 3);
    else if (f === 3) r.expect(f, w, LEN, 'schema_url');
    else r.skip(w);
    header.push(r.buf.subarray(fieldStart, r.pos));
  }
  if (records.length === 0) return undefined;
  const headerBuf = concat(header);
  return { header: headerBuf, headerBytes: headerBuf.length, records };
}

const EMPTY = Buffer.alloc(0);

function concat(parts: Buffer[]): Buffer {
  if (parts.length === 0) return EMPTY;
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/** Protobuf framing: a tag byte and a length varint (at most 5 bytes) per nested entry. */
export const PROTO_FRAMING: Framing = {
  envelope: 0,
  resource: 6,
  scope: 6,
  record: (bytes) => bytes + 6,
};

function varintBytes(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

/** Field 1 of the request and field 2 of its resource and scope entries, all length-delimited. */
const REQUEST_ENTRY = Buffer.from([(1 << 3) | LEN]);
const NESTED_ENTRY = Buffer.from([(2 << 3) | LEN]);

/** One chunk as an Export*ServiceRequest: the same headers and record bytes, re-framed. */
export function encodeProtoChunk(body: Buffer, chunk: Chunk<Buffer, number>): Buffer {
  const parts: Buffer[] = [];
  for (const resource of chunk) {
    const resourceParts: Buffer[] = [resource.header];
    for (const scope of resource.scopes) {
      const scopeParts: Buffer[] = [scope.header];
      for (const record of scope.records) {
        scopeParts.push(
          NESTED_ENTRY,
          varintBytes(record.bytes),
          body.subarray(record.ref, record.ref + record.bytes),
        );
      }
      const scopeBuf = Buffer.concat(scopeParts);
      resourceParts.push(NESTED_ENTRY, varintBytes(scopeBuf.length), scopeBuf);
    }
    const resourceBuf = Buffer.concat(resourceParts);
    parts.push(REQUEST_ENTRY, varintBytes(resourceBuf.length), resourceBuf);
  }
  return Buffer.concat(parts);
}
