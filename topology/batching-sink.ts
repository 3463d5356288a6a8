import { lowerBoundBy } from '../common/lower-bound';
import { SinkBufferFullError, TopologyDefinitionError } from './errors';
import { partitionId, type SourcePosition, type SourceRange, type StreamRecord } from './processor/record';
import type { Sink } from './sink';

/** A buffered item and the offset of the input record it was mapped from. */
export interface BufferedItem<Item> {
  readonly offset: bigint;
  readonly item: Item;
}

/** The buffered items a flushed range covers, in offset order. */
export interface RangeBatch<Item> {
  readonly range: SourceRange;
  readonly items: readonly BufferedItem<Item>[];
}

/**
 * Buffered items of one source partition outside every flushed range, in offset order: e.g. the
 * output of a wall-clock punctuation, whose position is its task's last record, which an earlier
 * commit may already have covered.
 */
export interface UnrangedBatch<Item> {
  readonly topic: string;
  readonly partition: number;
  readonly items: readonly BufferedItem<Item>[];
}

/** What one flush hands to `writeBatches`: only batches with items; nothing at all is never handed. */
export interface SinkBatches<Item> {
  readonly ranged: readonly RangeBatch<Item>[];
  readonly unranged: readonly UnrangedBatch<Item>[];
}

export interface BatchingSinkOptions {
  readonly name: string;
  /** Most items held between flushes: a safety net on memory (see SinkBufferFullError). */
  readonly maxBufferedItems: number;
  /** What an item is, in the plural ('rows', 'requests'), for the bound's error message. */
  readonly itemsName: string;
}

interface PartitionBuffer<Item> {
  readonly topic: string;
  readonly partition: number;
  /** In offset order; items of one record (and of equal offsets) in write order. */
  readonly items: BufferedItem<Item>[];
}

/**
 * The buffering every external sink needs, after Quix Streams' BatchingSink: `write` maps the record
 * to its items (`prepare`: the runtime calls it while the record is processed, so a mapping that
 * throws rejects that record, where it is attributable) and buffers
 * them per source partition in offset order, within a bound; `flush(ranges)` groups the buffer by the
 * range covering each item and hands the batches to `writeBatches`, the subclass's I/O. The buffer is
 * cleared only once that succeeded: a failed write keeps it, and the runtime retries the flush (with
 * backoff, for as long as it takes), so a subclass needs no retry loop of its own and must make a
 * repeated write of the same batch idempotent, as the Sink contract asks anyway.
 *
 * One flush at a time, and no write while it runs, as the runtime calls sinks.
 */
export abstract class BatchingSink<K, V, Item> implements Sink<K, V> {
  readonly name: string;
  private readonly maxBufferedItems: number;
  private readonly itemsName: string;
  /** By `topic \0 partition`. */
  private buffers = new Map<string, PartitionBuffer<Item>>();
  private count = 0;

  protected constructor(options: BatchingSinkOptions) {
    if (!Number.isInteger(options.maxBufferedItems) || options.maxBufferedItems < 1) {
      throw new TopologyDefinitionError(
        `sink ${options.name}: the buffer bound must be a positive integer, got ${options.maxBufferedItems}`,
      );
    }
    this.name = options.name;
    this.maxBufferedItems = options.maxBufferedItems;
    this.itemsName = options.itemsName;
  }

  /** Items held until the next successful flush (for metrics). */
  get bufferedItems(): number {
    return this.count;
  }

  /** The record's items, usually one; none is fine. Throwing rejects the record. */
  protected abstract toItems(record: StreamRecord<K, V>): readonly Item[];

  /**
   * Writes one flush's batches. Throwing keeps every buffered item and the runtime calls `flush`
   * again with the same ranges, so the batches come again (the same, or more items after a replay).
   */
  protected abstract writeBatches(batches: SinkBatches<Item>): Promise<void>;

  write(record: StreamRecord<K, V>, source: SourcePosition): void {
    this.writePrepared(this.prepare(record), source);
  }

  /** The record's items: the runtime maps records while they are processed (see Sink.prepare). */
  prepare(record: StreamRecord<K, V>): readonly Item[] {
    return this.toItems(record);
  }

  writePrepared(items: readonly Item[], source: SourcePosition): void {
    if (items.length === 0) return;
    if (this.count + items.length > this.maxBufferedItems) {
      throw new SinkBufferFullError(
        `${this.name}: ${this.count} ${this.itemsName} buffered, bound ${this.maxBufferedItems}; cannot add ${items.length} before a flush`,
      );
    }
    const key = partitionId(source.topic, source.partition);
    let buffer = this.buffers.get(key);
    if (buffer === undefined) {
      buffer = { topic: source.topic, partition: source.partition, items: [] };
      this.buffers.set(key, buffer);
    }
    const offset = BigInt(source.offset);
    const buffered = items.map((item) => ({ offset, item }));
    // Records of a partition come in offset order, so this is an append; the scan keeps the order if
    // one ever does not.
    let at = buffer.items.length;
    while (at > 0 && (buffer.items[at - 1] as BufferedItem<Item>).offset > offset) at -= 1;
    if (at === buffer.items.length) for (const b of buffered) buffer.items.push(b);
    else buffer.items.splice(at, 0, ...buffered);
    this.count += items.length;
  }

  async flush(ranges: readonly SourceRange[]): Promise<void> {
    if (this.count === 0) return;
    await this.writeBatches(this.batches(ranges));
    this.discard();
  }

  discard(): void {
    this.buffers = new Map();
    this.count = 0;
  }

  /** The buffer grouped by range: one sweep per partition over its items and its sorted ranges. */
  private batches(ranges: readonly SourceRange[]): SinkBatches<Item> {
    type Cover = { range: SourceRange; first: bigint; last: bigint; items: BufferedItem<Item>[] };
    const covers = new Map<string, Cover[]>();
    for (const range of ranges) {
      const key = partitionId(range.topic, range.partition);
      let list = covers.get(key);
      if (list === undefined) covers.set(key, (list = []));
      list.push({ range, first: BigInt(range.firstOffset), last: BigInt(range.lastOffset), items: [] });
    }
    const ranged: RangeBatch<Item>[] = [];
    const unranged: UnrangedBatch<Item>[] = [];
    for (const [key, buffer] of this.buffers) {
      const list = (covers.get(key) ?? []).sort((a, b) => compare(a.first, b.first));
      const outside: BufferedItem<Item>[] = [];
      let r = 0;
      for (const entry of buffer.items) {
        while (r < list.length && (list[r] as Cover).last < entry.offset) r += 1;
        const cover = list[r];
        if (cover !== undefined && cover.first <= entry.offset) cover.items.push(entry);
        else outside.push(entry);
      }
      for (const { range, items } of list) if (items.length > 0) ranged.push({ range, items });
      if (outside.length > 0)
        unranged.push({ topic: buffer.topic, partition: buffer.partition, items: outside });
    }
    return { ranged, unranged };
  }
}

/** The items from offset `first` to `last` (both inclusive) of items in offset order. */
export function itemsBetween<Item>(
  items: readonly BufferedItem<Item>[],
  first: bigint,
  last: bigint,
): BufferedItem<Item>[] {
  const offsetOf = (buffered: BufferedItem<Item>): bigint => buffered.offset;
  return items.slice(lowerBoundBy(items, first, offsetOf), lowerBoundBy(items, last + 1n, offsetOf));
}

function compare(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
