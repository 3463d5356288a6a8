import type { Admin } from 'kafkajs';
import { StreamsRuntimeError } from '../errors';

/** Where a bounded run starts or ends on every partition: an offset, or the first offset at/after a time. */
export type BoundPosition = { readonly offset: bigint } | { readonly timestampMs: number };

/**
 * A bounded run (a replay): the application reads a fixed offset range of its external source
 * topics, then stops by itself. The range is computed once, at start; see topology/README.md.
 */
export interface BoundedRunOptions {
  /**
   * The external source topics to read. Every other external source topic gets an empty range (its
   * partitions start and end at the high watermark). Default: every external source topic.
   */
  readonly topics?: readonly string[];
  /** Where partitions with no committed offset start (inclusive). Default: the partition's beginning. */
  readonly from?: BoundPosition;
  /** Where every partition ends (exclusive). Default: the high watermark at start. */
  readonly to?: BoundPosition;
  /** After the end is reached, keep running this long (wall-clock punctuations fire), then stop. Default 0. */
  readonly lingerMs?: number;
  /** Called at start and after every commit: offsets of the range processed so far, and in all. */
  readonly onProgress?: (progress: BoundedProgress) => void;
}

export interface BoundedProgress {
  readonly done: number;
  readonly total: number;
}

/** The offsets start..end-1 of one partition. */
export interface PartitionRange {
  readonly topic: string;
  readonly partition: number;
  readonly start: bigint;
  readonly end: bigint;
}

export interface Watermarks {
  readonly partition: number;
  readonly low: bigint;
  readonly high: bigint;
}

/**
 * The range of one partition: the requested start and end (undefined: the beginning, the high
 * watermark) clamped to what the partition holds, and the end never before the start.
 */
export function clampRange(
  watermarks: Watermarks,
  start: bigint | undefined,
  end: bigint | undefined,
): {
  start: bigint;
  end: bigint;
} {
  const clamp = (v: bigint, lo: bigint, hi: bigint): bigint => (v < lo ? lo : v > hi ? hi : v);
  const s = clamp(start ?? watermarks.low, watermarks.low, watermarks.high);
  return { start: s, end: clamp(end ?? watermarks.high, s, watermarks.high) };
}

const key = (topic: string, partition: number): string => `${topic}|${partition}`;

/**
 * Positions (next offset to process) of every partition the run reads, against their ends. External
 * source partitions have their range from the start; internal ones (repartition topics, written by
 * the run itself) get theirs once the external ones are done: their high watermark then, re-checked.
 */
export class BoundTracker {
  private readonly ranges = new Map<string, PartitionRange>();
  private readonly positions = new Map<string, bigint>();
  private readonly internalEnds = new Map<string, bigint>();

  constructor(ranges: readonly PartitionRange[], committed: ReadonlyMap<string, bigint>) {
    for (const r of ranges) {
      this.ranges.set(key(r.topic, r.partition), r);
      this.positions.set(key(r.topic, r.partition), committed.get(key(r.topic, r.partition)) ?? r.start);
    }
    for (const [k, offset] of committed) if (!this.positions.has(k)) this.positions.set(k, offset);
  }

  /** The exclusive end of an external source partition; undefined for internal topics. */
  endOf(topic: string, partition: number): bigint | undefined {
    return this.ranges.get(key(topic, partition))?.end;
  }

  /** The partition's records before `next` are processed and committed. */
  advance(topic: string, partition: number, next: bigint): void {
    const k = key(topic, partition);
    const current = this.positions.get(k);
    if (current === undefined || next > current) this.positions.set(k, next);
  }

  progress(): BoundedProgress {
    let done = 0n;
    let total = 0n;
    for (const [k, r] of this.ranges) {
      const at = this.positions.get(k) ?? r.start;
      total += r.end - r.start;
      done += (at < r.start ? r.start : at > r.end ? r.end : at) - r.start;
    }
    return { done: Number(done), total: Number(total) };
  }

  /** Every external source partition reached its end. */
  sourcesDone(): boolean {
    for (const [k, r] of this.ranges) if ((this.positions.get(k) ?? r.start) < r.end) return false;
    return true;
  }

  /**
   * Given the internal topics' current high watermarks (taken after sourcesDone()): true when every
   * internal partition was processed up to them and they did not move since the previous call.
   */
  internalDone(highWatermarks: ReadonlyMap<string, bigint>): boolean {
    let stable = highWatermarks.size === this.internalEnds.size;
    for (const [k, high] of highWatermarks) {
      if (this.internalEnds.get(k) !== high) stable = false;
      this.internalEnds.set(k, high);
    }
    if (!stable) return false;
    for (const [k, high] of highWatermarks) if ((this.positions.get(k) ?? 0n) < high) return false;
    return true;
  }
}

/**
 * Computes the run's ranges at start, from the partitions' watermarks and, for times, Kafka's offset
 * index (the first offset whose timestamp is at or after the time). Partitions of the group that
 * have no committed offset get their start committed, so the consumer begins there and a restarted
 * run resumes from the group's offsets. The group must have no live member.
 */
export async function prepareBoundedRun(
  admin: Admin,
  groupId: string,
  externalTopics: readonly string[],
  internalTopics: readonly string[],
  options: BoundedRunOptions,
): Promise<BoundTracker> {
  const selected = new Set(options.topics ?? externalTopics);
  for (const topic of selected) {
    if (!externalTopics.includes(topic)) {
      throw new StreamsRuntimeError(`bounded run: ${topic} is not a source topic of the topology`);
    }
  }
  const committed = new Map<string, bigint>();
  const all = [...externalTopics, ...internalTopics];
  if (all.length > 0) {
    for (const { topic, partitions } of await admin.fetchOffsets({ groupId, topics: all })) {
      for (const p of partitions) {
        if (BigInt(p.offset) >= 0n) committed.set(key(topic, p.partition), BigInt(p.offset));
      }
    }
  }
  const ranges: PartitionRange[] = [];
  for (const topic of externalTopics) {
    const watermarks = (await admin.fetchTopicOffsets(topic)).map((p) => ({
      partition: p.partition,
      low: BigInt(p.low),
      high: BigInt(p.high),
    }));
    const from = selected.has(topic) ? await offsetsAt(admin, topic, options.from) : undefined;
    const to = selected.has(topic) ? await offsetsAt(admin, topic, options.to) : undefined;
    const toStart: { partition: number; offset: string }[] = [];
    for (const w of watermarks) {
      const range = selected.has(topic)
        ? clampRange(w, from?.(w.partition), to?.(w.partition))
        : { start: w.high, end: w.high };
      ranges.push({ topic, partition: w.partition, ...range });
      if (!committed.has(key(topic, w.partition)))
        toStart.push({ partition: w.partition, offset: String(range.start) });
    }
    if (toStart.length > 0) await admin.setOffsets({ groupId, topic, partitions: toStart });
  }
  return new BoundTracker(ranges, committed);
}

/** The offset `position` means on each partition of the topic (an offset means the same on all). */
async function offsetsAt(
  admin: Admin,
  topic: string,
  position: BoundPosition | undefined,
): Promise<((partition: number) => bigint | undefined) | undefined> {
  if (position === undefined) return undefined;
  if ('offset' in position) return () => position.offset;
  // kafkajs answers the high watermark for a partition with no record at or after the time.
  const offsets = await admin.fetchTopicOffsetsByTimestamp(topic, position.timestampMs);
  const byPartition = new Map(offsets.map((p) => [p.partition, BigInt(p.offset)]));
  return (partition) => byPartition.get(partition);
}

/** The high watermarks of the internal source topics, keyed `topic|partition`. */
export async function highWatermarks(admin: Admin, topics: readonly string[]): Promise<Map<string, bigint>> {
  const result = new Map<string, bigint>();
  for (const topic of topics) {
    for (const p of await admin.fetchTopicOffsets(topic)) result.set(key(topic, p.partition), BigInt(p.high));
  }
  return result;
}
