import type { Admin, Kafka } from 'kafkajs';
import type { Logger } from '../../common/logger';
import type { TopologyMetrics } from '../metrics';
import type { StreamTask } from '../processor/stream-task';
import { changelogTopicName, type StateStore } from '../state/store';

interface ChangelogPartition {
  readonly topic: string;
  readonly partition: number;
  readonly store: StateStore;
  /** Offset after the last record to apply (high watermark when restoration starts). */
  readonly end: number;
  position: number;
}

/**
 * Restores the stores of newly assigned tasks from their changelogs (read_committed, from the
 * beginning up to the high watermark read at start) before they process anything.
 *
 * kafkajs has no manual partition assignment, so restoration uses a throwaway consumer group that
 * never commits and ignores (pauses) the changelog partitions it does not need. Batches made only of
 * transaction markers or aborted records never reach eachBatch; the END_BATCH_PROCESS
 * instrumentation event still reports their last offset, which is how the end is recognised.
 */
export class ChangelogRestorer {
  private restorations = 0;

  constructor(
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    private readonly applicationId: string,
    private readonly instanceId: string,
    private readonly logger: Logger,
    private readonly metrics: TopologyMetrics,
  ) {}

  /** Resolves once every store of `tasks` holds its changelog's content. `keepAlive` runs meanwhile. */
  async restore(tasks: readonly StreamTask[], keepAlive: () => Promise<void>): Promise<void> {
    const partitions = await this.pendingPartitions(tasks);
    if (partitions.length === 0) return;
    const started = Date.now();
    const byId = new Map(partitions.map((p) => [`${p.topic}|${p.partition}`, p]));
    const topics = [...new Set(partitions.map((p) => p.topic))];
    this.restorations += 1;
    const consumer = this.kafka.consumer({
      groupId: `${this.applicationId}-restore-${this.instanceId}-${process.pid}-${this.restorations}`,
      readUncommitted: false,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 200,
    });
    let keepAliveTimer: NodeJS.Timeout | undefined;
    try {
      await consumer.connect();
      await consumer.subscribe({ topics, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        // The main consumer's session must stay alive while this runs; its failure (a rebalance) ends the restoration.
        keepAliveTimer = setInterval(() => keepAlive().catch(reject), 1_000);
        const advance = (topic: string, partition: number, lastOffset: string): void => {
          const p = byId.get(`${topic}|${partition}`);
          if (p) p.position = Math.max(p.position, Number(lastOffset) + 1);
          if (partitions.every((q) => q.position >= q.end)) resolve();
        };
        consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) =>
          advance(payload.topic, payload.partition, payload.lastOffset),
        );
        consumer.on(consumer.events.CRASH, ({ payload }) => reject(payload.error));
        consumer
          .run({
            autoCommit: false,
            eachBatch: async ({ batch, pause }) => {
              const p = byId.get(`${batch.topic}|${batch.partition}`);
              if (!p) {
                pause();
                return;
              }
              for (const message of batch.messages) {
                if (Number(message.offset) >= p.end) break;
                p.store.restore(message.key ?? Buffer.alloc(0), message.value);
                this.metrics.restoredRecords.inc({ application: this.applicationId, store: p.store.name });
              }
            },
          })
          .catch(reject);
      });
    } finally {
      clearInterval(keepAliveTimer);
      await consumer.disconnect();
    }
    for (const store of new Set(partitions.map((p) => p.store))) {
      this.metrics.restorations.inc({ application: this.applicationId, store: store.name });
    }
    this.logger.info(
      {
        tasks: tasks.map((t) => t.id),
        changelogs: partitions.map((p) => ({ topic: p.topic, partition: p.partition, records: p.end })),
        durationMs: Date.now() - started,
      },
      'restored state stores',
    );
  }

  private async pendingPartitions(tasks: readonly StreamTask[]): Promise<ChangelogPartition[]> {
    const wanted = tasks.flatMap((task) =>
      [...task.stores.values()].map((store) => ({
        topic: changelogTopicName(this.applicationId, store.name),
        partition: task.partition,
        store,
      })),
    );
    const highs = new Map<string, number>();
    for (const topic of new Set(wanted.map((w) => w.topic))) {
      for (const o of await this.admin.fetchTopicOffsets(topic)) {
        highs.set(`${topic}|${o.partition}`, Number(o.high));
      }
    }
    return wanted
      .map((w) => ({ ...w, end: highs.get(`${w.topic}|${w.partition}`) ?? 0, position: 0 }))
      .filter((p) => p.end > 0);
  }
}
