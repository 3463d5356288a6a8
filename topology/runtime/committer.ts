import type { Consumer, Producer, RecordMetadata, Transaction } from 'kafkajs';
import type { ProducedRecord } from '../processor/record';
import { boundedSends } from './bounded-sends';
import {
  isFencingError,
  isTooLargeError,
  ProducedRecordTooLargeError,
  TransactionTimedOutError,
} from './kafka-errors';
import { producedBytes } from '../processor/record';
import { topicMessages } from './kafka-records';

/**
 * A source partition's position to commit: the next offset to read, and `metadata` stored with it
 * where the guarantee allows (the task's stream time, see stream-time.ts).
 */
export interface OffsetToCommit {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly metadata: string | null;
}

/**
 * Makes a checkpoint's topic outputs and its input offsets (every partition's) durable together.
 * `stillMember` is awaited last before the offsets become visible (the group heartbeat: it throws
 * once the instance was evicted), so a stall before it is caught by the group, and a stall after it,
 * longer than the session timeout, is longer than the transaction timeout too: the coordinator has
 * aborted the transaction by then and the commit fails (see TransactionalCommitter).
 */
export interface Committer {
  /** Connects the producer (exactly_once: InitProducerId, fencing a previous incarnation). */
  connect(): Promise<void>;
  /** Resolves to where the records sent to explicit partitions end (persistent stores' checkpoints). */
  commit(
    records: readonly ProducedRecord[],
    offsets: readonly OffsetToCommit[],
    stillMember: () => Promise<void>,
  ): Promise<ProducedEnds>;
  disconnect(): Promise<void>;
}

/**
 * Per `${topic}|${partition}`, the offset after the last record a commit produced there (explicitly
 * partitioned records only: changelog records are).
 */
export type ProducedEnds = ReadonlyMap<string, bigint>;

/** Offsets grouped by topic, as kafkajs's sendOffsets and commitOffsets take them. */
function byTopic(
  offsets: readonly OffsetToCommit[],
): { topic: string; partitions: { partition: number; offset: string; metadata: string | null }[] }[] {
  const topics = new Map<string, { partition: number; offset: string; metadata: string | null }[]>();
  for (const { topic, partition, offset, metadata } of offsets) {
    let partitions = topics.get(topic);
    if (partitions === undefined) topics.set(topic, (partitions = []));
    partitions.push({ partition, offset, metadata });
  }
  return [...topics].map(([topic, partitions]) => ({ topic, partitions }));
}

/**
 * Owns the (idempotent or transactional) producer and replaces it after a failed commit. A failed
 * produce leaves the producer's sequence numbers ahead of what the broker wrote, so every later
 * send would fail with OUT_OF_ORDER_SEQUENCE_NUMBER: a new producer (same transactional id)
 * gets a new epoch from InitProducerId, which resets sequences and aborts any open transaction.
 * The replacement happens before the next commit (the replayed run), so a failing replacement is
 * just another failed commit, tried again at the next one. Not after fencing: another instance
 * owns the transactional id and re-initializing would fence it in turn.
 */
class RenewableProducer {
  private producer: Producer;
  private broken = false;

  constructor(private readonly create: () => Producer) {
    this.producer = create();
  }

  async connect(): Promise<void> {
    await this.producer.connect();
  }

  /** The producer to use, replaced first if the previous commit failed. */
  async current(): Promise<Producer> {
    if (this.broken) {
      await this.producer.disconnect().catch(() => undefined);
      this.producer = this.create();
      await this.producer.connect();
      this.broken = false;
    }
    return this.producer;
  }

  /** `stalled`: the failure is a timed-out transaction, not another producer with our id. */
  failed(error: unknown, stalled = false): void {
    if (stalled || !isFencingError(error)) this.broken = true;
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect();
  }
}

/**
 * Produces records in sends bounded per partition (see bounded-sends.ts); a refusal as too large
 * becomes a ProducedRecordTooLargeError naming the biggest record of the refused send.
 */
async function sendBounded(
  records: readonly ProducedRecord[],
  maxBytesPerPartition: number,
  send: (records: readonly ProducedRecord[]) => Promise<RecordMetadata[]>,
): Promise<ProducedEnds> {
  const ends = new Map<string, bigint>();
  for (const chunk of boundedSends(records, maxBytesPerPartition)) {
    try {
      const written = await send(chunk);
      // One base offset per partition and send: the partition's records of the chunk follow it.
      const counts = new Map<string, number>();
      for (const r of chunk) {
        if (r.partition !== undefined)
          counts.set(`${r.topic}|${r.partition}`, (counts.get(`${r.topic}|${r.partition}`) ?? 0) + 1);
      }
      for (const { topicName, partition, baseOffset } of written) {
        const count = counts.get(`${topicName}|${partition}`);
        if (count !== undefined && baseOffset !== undefined) {
          ends.set(`${topicName}|${partition}`, BigInt(baseOffset) + BigInt(count));
        }
      }
    } catch (error) {
      if (!isTooLargeError(error)) throw error;
      const biggest = chunk.reduce((a, b) => (producedBytes(b) > producedBytes(a) ? b : a));
      throw new ProducedRecordTooLargeError(
        `the broker refused a record batch as too large: ${chunk.length} record(s), the biggest ` +
          `~${producedBytes(biggest)} bytes to ${biggest.topic}` +
          `${biggest.partition === undefined ? '' : `[${biggest.partition}]`}; records over the topic's ` +
          `max.message.bytes cannot be produced (lower maxProduceBytesPerPartition, currently ` +
          `${maxBytesPerPartition}, below it, or raise max.message.bytes)`,
        { cause: error },
      );
    }
  }
  return ends;
}

/**
 * exactly_once: outputs (including repartition and changelog records) and the consumed offsets in
 * one Kafka transaction; read_committed readers see all of a checkpoint's effects or none. The
 * records go in several sends of the same transaction when they exceed the per-partition bound.
 *
 * Zombie fencing without KIP-447 (kafkajs's TxnOffsetCommit carries no group generation): the
 * transaction is opened and filled before the membership check, and committed right after it. An
 * instance evicted before the check fails the check; one that stalls after it for longer than the
 * session timeout (which must exceed transactionTimeoutMs plus the broker's
 * transaction.abort.timed.out.transaction.cleanup.interval.ms) finds its transaction aborted by the
 * coordinator, and its commit fails with a fencing error, reported as TransactionTimedOutError.
 */
export class TransactionalCommitter implements Committer {
  private readonly producer: RenewableProducer;

  constructor(
    createProducer: () => Producer,
    private readonly groupId: string,
    private readonly maxBytesPerPartition: number,
    private readonly transactionTimeoutMs: number,
  ) {
    this.producer = new RenewableProducer(createProducer);
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }

  async commit(
    records: readonly ProducedRecord[],
    offsets: readonly OffsetToCommit[],
    stillMember: () => Promise<void>,
  ): Promise<ProducedEnds> {
    if (records.length === 0 && offsets.length === 0) return new Map();
    const producer = await this.producer.current();
    let transaction: Transaction | undefined;
    let openedAt = Number.POSITIVE_INFINITY;
    try {
      transaction = await producer.transaction();
      openedAt = Date.now();
      const tx = transaction;
      const ends = await sendBounded(records, this.maxBytesPerPartition, (chunk) =>
        tx.sendBatch({ topicMessages: topicMessages(chunk) }),
      );
      if (offsets.length > 0) {
        const topics = byTopic(offsets);
        await whileConcurrent(() => tx.sendOffsets({ consumerGroupId: this.groupId, topics }));
      }
      await stillMember();
      await tx.commit();
      return ends;
    } catch (error) {
      if (transaction?.isActive()) await transaction.abort().catch(() => undefined);
      const stalled = isFencingError(error) && Date.now() - openedAt >= this.transactionTimeoutMs;
      this.producer.failed(error, stalled);
      if (stalled) {
        throw new TransactionTimedOutError(
          `the transaction was open for over transactionTimeoutMs (${this.transactionTimeoutMs} ms) and was aborted by the coordinator`,
          { cause: error },
        );
      }
      throw error;
    }
  }
}

/**
 * The coordinator answers CONCURRENT_TRANSACTIONS while it is still completing the previous
 * transaction (writing its markers). kafkajs retries it when adding partitions but not when adding
 * the consumer group's offsets, so that step is retried here, briefly, inside the same transaction.
 */
async function whileConcurrent(step: () => Promise<void>): Promise<void> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      await step();
      return;
    } catch (error) {
      const concurrent =
        typeof error === 'object' &&
        error !== null &&
        'type' in error &&
        error.type === 'CONCURRENT_TRANSACTIONS';
      if (!concurrent || attempt >= 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(10 * 2 ** attempt, 500)));
    }
  }
}

/**
 * at_least_once: outputs acknowledged by all in-sync replicas first (in bounded sends), offsets
 * committed after. kafkajs's consumer commit cannot carry offset metadata, so no stream time is
 * stored.
 */
export class AtLeastOnceCommitter implements Committer {
  private readonly producer: RenewableProducer;

  constructor(
    createProducer: () => Producer,
    private readonly consumer: Consumer,
    private readonly maxBytesPerPartition: number,
  ) {
    this.producer = new RenewableProducer(createProducer);
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }

  async commit(
    records: readonly ProducedRecord[],
    offsets: readonly OffsetToCommit[],
    stillMember: () => Promise<void>,
  ): Promise<ProducedEnds> {
    let ends: ProducedEnds = new Map();
    if (records.length > 0) {
      const producer = await this.producer.current();
      try {
        ends = await sendBounded(records, this.maxBytesPerPartition, (chunk) =>
          producer.sendBatch({ topicMessages: topicMessages(chunk), acks: -1 }),
        );
      } catch (error) {
        this.producer.failed(error);
        throw error;
      }
    }
    if (offsets.length > 0) {
      await stillMember();
      await this.consumer.commitOffsets(
        offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset })),
      );
    }
    return ends;
  }
}
