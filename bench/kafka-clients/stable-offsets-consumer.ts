import {
  Admin,
  Consumer,
  type CallbackWithPromise,
  type ConsumerOptions,
  type ListCommitsOptions,
  type Offsets,
} from '@platformatic/kafka';

/**
 * A @platformatic/kafka consumer whose committed-offset fetch asks for stable offsets (OffsetFetch
 * `require_stable`, KIP-447). The MessagesStream calls `listCommittedOffsets` at every group join to know
 * where the assigned partitions start; the client's own fetch sends `require_stable = false`, so a new owner
 * could start from an offset that a pending transaction of the previous owner is about to move, and
 * process those records again. Here the fetch goes through the Admin client with `requireStable`: the
 * broker answers UNSTABLE_OFFSET_COMMIT while a transaction holds a pending offset for the group, and the
 * Admin retries (its `retries` x `retryDelay` bound the wait; give it at least the transaction timeout).
 */
export class StableOffsetsConsumer extends Consumer {
  constructor(
    options: ConsumerOptions<Buffer, Buffer, Buffer, Buffer>,
    private readonly admin: Admin,
  ) {
    super(options);
  }

  override listCommittedOffsets(options: ListCommitsOptions, callback: CallbackWithPromise<Offsets>): void;
  override listCommittedOffsets(options: ListCommitsOptions): Promise<Offsets>;
  override listCommittedOffsets(
    options: ListCommitsOptions,
    callback?: CallbackWithPromise<Offsets>,
  ): void | Promise<Offsets> {
    const offsets = this.stableOffsets(options);
    if (callback === undefined) return offsets;
    offsets.then(
      (result) => callback(null, result),
      (error: Error) => callback(error),
    );
  }

  /** Same shape as the client's answer: per topic, the committed offset at each partition's index (-1 for none). */
  private async stableOffsets({ topics }: ListCommitsOptions): Promise<Offsets> {
    const [group] = await this.admin.listConsumerGroupOffsets({
      groups: [
        {
          groupId: this.groupId,
          topics: topics.map(({ topic, partitions }) => ({ name: topic, partitionIndexes: partitions })),
        },
      ],
      requireStable: true,
    });
    const offsets: Offsets = new Map();
    for (const { name, partitions } of group?.topics ?? []) {
      const byPartition: bigint[] = [];
      for (const { partitionIndex, committedOffset } of partitions)
        byPartition[partitionIndex] = committedOffset;
      offsets.set(name, byPartition);
    }
    return offsets;
  }
}
