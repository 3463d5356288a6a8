import { StreamsRuntimeError } from '../errors';
import type { RawRecord } from '../processor/record';

/** A fetched record waiting in its partition's queue, with the timestamp that orders it. */
export interface BufferedRecord {
  readonly raw: RawRecord;
  readonly timestamp: number;
}

export interface PartitionGroupOptions {
  /**
   * Kafka Streams' max.task.idle.ms: how long a task with buffered records waits for an empty input
   * partition that is known to have nothing more on the broker (lag 0) before it processes without
   * it. 0 (the default): it waits only while that partition's lag is unknown or positive. -1: it
   * never waits (whatever is buffered is processed, lowest timestamp first).
   */
  readonly maxTaskIdleMs: number;
  /** A queue holding more records than this asks for its partition to be paused (see add). */
  readonly maxBufferedRecords: number;
}

/** Kafka Streams' MAX_TASK_IDLE_MS_DISABLED. */
export const TASK_IDLE_DISABLED = -1;

interface Queue {
  readonly topic: string;
  /** Ordered by offset; `head` indexes the next record (popped entries are trimmed in bulk). */
  records: BufferedRecord[];
  head: number;
  /**
   * The broker's lag after the last fetch of the partition: undefined until one is known (Kafka
   * Streams' fetchedLags). A partition at the end of a bounded run has lag 0 for good.
   */
  lag: number | undefined;
  /** A bounded run reached the partition's end: nothing more will be fetched, never wait for it. */
  ended: boolean;
  /** When waiting for the (empty, lag 0) partition gives up (Kafka Streams' idlePartitionDeadlines). */
  idleDeadline: number | undefined;
  /** Past the last fetch (its trailing transaction markers included), undefined at a bounded end. */
  fetchedUpTo: bigint | undefined;
}

/**
 * The records a task has fetched and not processed yet, one queue per input partition (Kafka
 * Streams' PartitionGroup and RecordQueue): the task processes the head with the lowest timestamp
 * next across its partitions, and only while every partition has records buffered, or is known to
 * have nothing more on the broker and the idle time ran out (readyToProcess). So the order in which
 * records of several inputs are processed follows their timestamps, not the order fetches happened
 * to bring them in, and a replay processes them as the live run did.
 *
 * Records of one partition stay in offset order; equal head timestamps go by topic name, so the
 * order does not depend on which partition was fetched first (Kafka Streams leaves ties to its
 * priority queue).
 */
export class PartitionGroup {
  private readonly queues = new Map<string, Queue>();
  private total = 0;
  /**
   * How often readyToProcess said yes only because an empty partition's idle time ran out (Kafka
   * Streams' enforced-processing sensor): each such record may be out of timestamp order.
   */
  enforced = 0;

  constructor(
    topics: readonly string[],
    private readonly options: PartitionGroupOptions,
  ) {
    for (const topic of [...topics].sort()) {
      this.queues.set(topic, {
        topic,
        records: [],
        head: 0,
        lag: undefined,
        ended: false,
        idleDeadline: undefined,
        fetchedUpTo: undefined,
      });
    }
  }

  /** More than one input: the order across inputs matters (a single queue is processed as it comes). */
  get synchronizes(): boolean {
    return this.queues.size > 1;
  }

  /** Records buffered over all partitions. */
  get buffered(): number {
    return this.total;
  }

  /** Records buffered for one partition. */
  size(topic: string): number {
    const queue = this.queue(topic);
    return queue.records.length - queue.head;
  }

  /**
   * Buffers a fetch of `topic` (records in offset order), with the partition's lag after it.
   * Returns true when the queue now holds more than the bound: the caller pauses the partition
   * (Kafka Streams' buffered.records.per.partition), until `next` reports it back at the bound.
   */
  add(
    topic: string,
    records: readonly BufferedRecord[],
    fetch: { readonly lag: number; readonly fetchedUpTo: bigint | undefined },
  ): boolean {
    const queue = this.queue(topic);
    for (const record of records) queue.records.push(record);
    this.total += records.length;
    queue.fetchedUpTo = fetch.fetchedUpTo;
    if (!queue.ended) queue.lag = fetch.lag;
    return this.size(topic) > this.options.maxBufferedRecords;
  }

  /** The partition's lag as a fetch without records (transaction markers only) or a lookup found it. */
  updateLag(topic: string, lag: number): void {
    const queue = this.queues.get(topic);
    if (queue !== undefined && !queue.ended) queue.lag = lag;
  }

  /** The lag is only set when none is known yet (a lookup at task creation loses to any fetch since). */
  initialLag(topic: string, lag: number): void {
    const queue = this.queues.get(topic);
    if (queue !== undefined && queue.lag === undefined && !queue.ended) queue.lag = lag;
  }

  /** A bounded run fetched the partition up to its end: it will never have more to wait for. */
  end(topic: string): void {
    const queue = this.queue(topic);
    queue.ended = true;
    queue.lag = 0;
  }

  /**
   * Kafka Streams' PartitionGroup#readyToProcess (KIP-695): ready when every partition has records
   * buffered; an empty one holds the task back while its lag is unknown (not fetched yet) or
   * positive (records are on the broker), and, once known to be 0, for maxTaskIdleMs from the first
   * time it was found so; then the task processes without it ("enforced processing"). Never ready
   * with nothing buffered.
   */
  readyToProcess(now: number): boolean {
    if (this.total === 0) return false;
    if (this.options.maxTaskIdleMs === TASK_IDLE_DISABLED) return true;
    let enforced = false;
    for (const queue of this.queues.values()) {
      if (queue.records.length > queue.head) {
        queue.idleDeadline = undefined;
        continue;
      }
      if (queue.ended) continue;
      if (queue.lag === undefined || queue.lag > 0) {
        queue.idleDeadline = undefined;
        return false;
      }
      queue.idleDeadline ??= now + this.options.maxTaskIdleMs;
      if (now < queue.idleDeadline) return false;
      enforced = true;
    }
    if (enforced) this.enforced += 1;
    return true;
  }

  /**
   * Takes the head with the lowest timestamp (ties: topic name); undefined when nothing is
   * buffered. (Then `size` of its topic tells whether the queue was drained or is back at the bound.)
   */
  next(): BufferedRecord | undefined {
    let best: Queue | undefined;
    let bestTimestamp = Number.POSITIVE_INFINITY;
    for (const queue of this.queues.values()) {
      const head = queue.records[queue.head];
      if (head !== undefined && (best === undefined || head.timestamp < bestTimestamp)) {
        best = queue;
        bestTimestamp = head.timestamp;
      }
    }
    if (best === undefined) return undefined;
    const record = best.records[best.head] as BufferedRecord;
    best.head += 1;
    this.total -= 1;
    if (best.head === best.records.length) {
      best.records = [];
      best.head = 0;
    } else if (best.head >= 1024 && best.head * 2 >= best.records.length) {
      // Popped entries are dropped in bulk: shifting one at a time would be quadratic.
      best.records = best.records.slice(best.head);
      best.head = 0;
    }
    return record;
  }

  /** Past the partition's last fetch (trailing transaction markers included); undefined at a bounded end. */
  fetchedUpTo(topic: string): bigint | undefined {
    return this.queue(topic).fetchedUpTo;
  }

  /** Whether `size(topic)` is at the bound, below which a partition paused for a full queue resumes. */
  atBound(topic: string): boolean {
    return this.size(topic) === this.options.maxBufferedRecords;
  }

  /**
   * The first unprocessed offset of every partition with records buffered: where fetching must
   * start again when the buffers are forgotten (`clear`) but the consumer's position is past them.
   */
  heads(): { topic: string; offset: string }[] {
    const heads: { topic: string; offset: string }[] = [];
    for (const queue of this.queues.values()) {
      const head = queue.records[queue.head];
      if (head !== undefined) heads.push({ topic: queue.topic, offset: head.raw.offset });
    }
    return heads;
  }

  /**
   * Forgets every buffered record (a rebalance or a dropped task), and the lag of each partition that
   * had some: they are fetched again, and that fetch tells the lag. A partition with nothing buffered
   * keeps its lag: kafkajs reports nothing for a fetch that brings no records, so forgetting the lag
   * of a partition that stays empty would hold the task back for ever.
   */
  clear(): void {
    for (const queue of this.queues.values()) {
      if (queue.records.length > queue.head && !queue.ended) queue.lag = undefined;
      queue.records = [];
      queue.head = 0;
      queue.idleDeadline = undefined;
      queue.fetchedUpTo = undefined;
    }
    this.total = 0;
  }

  private queue(topic: string): Queue {
    const queue = this.queues.get(topic);
    if (queue === undefined)
      throw new StreamsRuntimeError(`the partition group has no partition of ${topic}`);
    return queue;
  }
}
