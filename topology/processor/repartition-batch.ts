import { DeserializationError } from '../errors';
import { partitionId, type Headers, type ProducedRecord } from './record';

/**
 * Repartition records travel in batches: the records one input record sends to the same partition of
 * a repartition topic go as one Kafka record. A decoded OTLP message yields hundreds of records; one
 * Kafka record each made the producer's per-record work (encoding, CRC, partitioning, and the
 * consumer's decoding on the way back) most of the pipeline's cost. The topic stays internal to the
 * application, so the format is private: the reading task unpacks each batch and processes its items
 * in order, one at a time, each with its own key, timestamp and headers, as if they had been
 * separate records at the batch's offset.
 *
 * Format: a version byte, then per item: key and value as u32 length (0xffffffff: null) + bytes, the
 * timestamp as f64, the header count as u16 and per header u32 name length + name, u32 value length +
 * value (UTF-8).
 */
export const REPARTITION_BATCH_VERSION = 1;

const NULL_LENGTH = 0xffffffff;

/** One record of a batch. */
export interface BatchItem {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly timestamp: number;
  readonly headers: Headers;
}

/** Upper bound of a batch's bytes: well under the task's record limit and the producer's bounds. */
export const MAX_BATCH_BYTES = 256 * 1024;

interface OpenBatch {
  readonly topic: string;
  readonly partition: number;
  items: BatchItem[];
  bytes: number;
  timestamp: number;
}

/** Collects a task's repartition records per topic and partition while it processes one input. */
export class RepartitionBatcher {
  private readonly open = new Map<string, OpenBatch>();
  private readonly full: OpenBatch[] = [];

  constructor(private readonly maxBytes = MAX_BATCH_BYTES) {}

  add(topic: string, partition: number, item: BatchItem): void {
    const id = partitionId(topic, partition);
    const bytes = itemBytes(item);
    let batch = this.open.get(id);
    if (batch !== undefined && batch.bytes + bytes > this.maxBytes) {
      this.full.push(batch);
      batch = undefined;
    }
    if (batch === undefined) {
      batch = { topic, partition, items: [], bytes: 1, timestamp: item.timestamp };
      this.open.set(id, batch);
    }
    batch.items.push(item);
    batch.bytes += bytes;
    if (item.timestamp > batch.timestamp) batch.timestamp = item.timestamp;
  }

  /** The batches collected since the last call, as records to produce, oldest first per partition. */
  drain(): ProducedRecord[] {
    if (this.open.size === 0) return [];
    const batches = [...this.full, ...this.open.values()];
    this.full.length = 0;
    this.open.clear();
    return batches.map((b) => ({
      topic: b.topic,
      partition: b.partition,
      key: null,
      value: encode(b.items, b.bytes),
      // The latest item's: Kafka's retention and timestamp checks apply to the batch as a whole.
      timestamp: b.timestamp,
      headers: {},
    }));
  }
}

function itemBytes(item: BatchItem): number {
  let bytes = 4 + (item.key?.length ?? 0) + 4 + (item.value?.length ?? 0) + 8 + 2;
  for (const name in item.headers) {
    bytes += 4 + Buffer.byteLength(name) + 4 + Buffer.byteLength(item.headers[name]!);
  }
  return bytes;
}

function encode(items: readonly BatchItem[], bytes: number): Buffer {
  const out = Buffer.allocUnsafe(bytes);
  out[0] = REPARTITION_BATCH_VERSION;
  let at = 1;
  const bytesOf = (data: Buffer | null): void => {
    if (data === null) {
      out.writeUInt32LE(NULL_LENGTH, at);
      at += 4;
      return;
    }
    out.writeUInt32LE(data.length, at);
    data.copy(out, at + 4);
    at += 4 + data.length;
  };
  for (const item of items) {
    bytesOf(item.key);
    bytesOf(item.value);
    out.writeDoubleLE(item.timestamp, at);
    at += 8;
    const names = Object.keys(item.headers);
    // More headers than a u16 counts cannot come from Kafka records of sane size; checked anyway.
    if (names.length > 0xffff) throw new RangeError(`a repartition record has ${names.length} headers`);
    out.writeUInt16LE(names.length, at);
    at += 2;
    for (const name of names) {
      const n = out.write(name, at + 4);
      out.writeUInt32LE(n, at);
      at += 4 + n;
      const v = out.write(item.headers[name]!, at + 4);
      out.writeUInt32LE(v, at);
      at += 4 + v;
    }
  }
  return out;
}

/** The items of a batch, in order; a malformed batch throws a DeserializationError naming why. */
export function decodeRepartitionBatch(data: Buffer | null): BatchItem[] {
  if (data === null || data.length === 0) throw new DeserializationError('repartition batch: empty value');
  if (data[0] !== REPARTITION_BATCH_VERSION) {
    const hint = data[0] === 0x7b ? ' (JSON: written by a StackLens before repartition batches)' : '';
    throw new DeserializationError(
      `repartition batch: format version ${data[0]}${hint} cannot be read; this version reads ${REPARTITION_BATCH_VERSION}`,
    );
  }
  const items: BatchItem[] = [];
  let at = 1;
  const need = (n: number): void => {
    if (at + n > data.length) {
      throw new DeserializationError(`repartition batch: truncated at byte ${at} of ${data.length}`);
    }
  };
  const bytes = (): Buffer | null => {
    need(4);
    const length = data.readUInt32LE(at);
    at += 4;
    if (length === NULL_LENGTH) return null;
    need(length);
    const out = data.subarray(at, at + length);
    at += length;
    return out;
  };
  while (at < data.length) {
    const key = bytes();
    const value = bytes();
    need(10);
    const timestamp = data.readDoubleLE(at);
    const count = data.readUInt16LE(at + 8);
    at += 10;
    const headers: Record<string, string> = {};
    for (let i = 0; i < count; i += 1) {
      need(4);
      const n = data.readUInt32LE(at);
      need(4 + n + 4);
      const name = data.toString('utf8', at + 4, at + 4 + n);
      at += 4 + n;
      const v = data.readUInt32LE(at);
      need(4 + v);
      headers[name] = data.toString('utf8', at + 4, at + 4 + v);
      at += 4 + v;
    }
    items.push({ key, value, timestamp, headers });
  }
  return items;
}
