import type { Consumer, Producer } from 'kafkajs';
import type { ProducedRecord, SourceRange } from '../processor/record';
import { topicMessages } from './kafka-records';

/**
 * Makes a batch's topic outputs and its input offsets durable together. `metadata` is stored with
 * the committed offset where the guarantee allows it (the task's stream time, see stream-time.ts).
 */
export interface Committer {
  commit(
    records: readonly ProducedRecord[],
    range: SourceRange | undefined,
    metadata: string | null,
  ): Promise<void>;
}

function nextOffset(range: SourceRange): string {
  return String(BigInt(range.lastOffset) + 1n);
}

/**
 * exactly_once: outputs (including repartition and changelog records) and the consumed offsets in
 * one Kafka transaction; read_committed readers see all of a batch's effects or none.
 */
export class TransactionalCommitter implements Committer {
  constructor(
    private readonly producer: Producer,
    private readonly groupId: string,
  ) {}

  async commit(
    records: readonly ProducedRecord[],
    range: SourceRange | undefined,
    metadata: string | null,
  ): Promise<void> {
    if (records.length === 0 && !range) return;
    const transaction = await this.producer.transaction();
    try {
      if (records.length > 0) await transaction.sendBatch({ topicMessages: topicMessages(records) });
      if (range) {
        const topics = [
          {
            topic: range.topic,
            partitions: [{ partition: range.partition, offset: nextOffset(range), metadata }],
          },
        ];
        await whileConcurrent(() => transaction.sendOffsets({ consumerGroupId: this.groupId, topics }));
      }
      await transaction.commit();
    } catch (error) {
      if (transaction.isActive()) await transaction.abort().catch(() => undefined);
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
 * at_least_once: outputs acknowledged by all in-sync replicas first, offsets committed after.
 * kafkajs's consumer commit cannot carry offset metadata, so no stream time is stored.
 */
export class AtLeastOnceCommitter implements Committer {
  constructor(
    private readonly producer: Producer,
    private readonly consumer: Consumer,
  ) {}

  async commit(records: readonly ProducedRecord[], range: SourceRange | undefined): Promise<void> {
    if (records.length > 0)
      await this.producer.sendBatch({ topicMessages: topicMessages(records), acks: -1 });
    if (range) {
      await this.consumer.commitOffsets([
        { topic: range.topic, partition: range.partition, offset: nextOffset(range) },
      ]);
    }
  }
}
