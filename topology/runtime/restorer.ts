import type { Admin, Kafka } from 'kafkajs';
import type { Logger } from '../../common/logger';
import type { TopologyMetrics } from '../metrics';
import type { StreamTask } from '../processor/stream-task';
import { changelogTopicName, type StateStore } from '../state/store';

interface ChangelogPartition {
  readonly topic: string;
  readonly partition: number;
  readonly store: StateStore;
  /** First offset to apply: 0, or a persistent store's checkpoint. */
  readonly from: number;
  /** Offset after the last record to apply (high watermark when restoration starts). */
  readonly end: number;
  position: number;
  /** Records applied. */
  restored: number;
}

/**
 * Restores the stores of newly assigned tasks from their changelogs (read_committed, up to the high
 * watermark read at start) before they process anything: in-memory stores from the beginning,
 * persistent ones from the offset checkpointed with their data (Kafka Streams' StoreChangelogReader).
 * A checkpoint outside the changelog's offsets (the topic was deleted and created again, or its
 * records deleted) is not trusted: the store is wiped and restored from the beginning.
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
    const all = await this.changelogPartitions(tasks);
    const partitions = all.filter((p) => p.from < p.end);
    if (partitions.length === 0) {
      if (all.length > 0) this.logRestored(tasks, all, 0);
      return;
    }
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
              let next: number | undefined;
              let applied = 0;
              for (const message of batch.messages) {
                const offset = Number(message.offset);
                if (offset >= p.end) break;
                if (offset < p.from) continue;
                p.store.restore(message.key ?? Buffer.alloc(0), message.value);
                applied += 1;
                next = offset + 1;
              }
              if (next === undefined) return;
              p.restored += applied;
              // A persistent store keeps what it restored: a crash from here on resumes after it.
              p.store.persistent?.restored(BigInt(next));
              this.metrics.restoredRecords.inc(
                { application: this.applicationId, store: p.store.name },
                applied,
              );
            },
          })
          .catch(reject);
        // run() has created the consumer's group state: seeks apply to its first fetches.
        for (const p of partitions) {
          if (p.from > 0) consumer.seek({ topic: p.topic, partition: p.partition, offset: String(p.from) });
        }
      });
    } finally {
      clearInterval(keepAliveTimer);
      await consumer.disconnect();
    }
    // The offset reached is the high watermark: trailing transaction markers need no reading again.
    for (const p of partitions) p.store.persistent?.restored(BigInt(p.end));
    for (const store of new Set(partitions.map((p) => p.store))) {
      this.metrics.restorations.inc({ application: this.applicationId, store: store.name });
    }
    this.logRestored(tasks, all, Date.now() - started);
  }

  /** One line per restoration: records applied per changelog partition, from where to where. */
  private logRestored(
    tasks: readonly StreamTask[],
    all: readonly ChangelogPartition[],
    durationMs: number,
  ): void {
    this.logger.info(
      {
        tasks: tasks.map((t) => t.id),
        changelogs: all.map((p) => ({
          topic: p.topic,
          partition: p.partition,
          persistent: p.store.persistent !== undefined,
          from: p.from,
          end: p.end,
          records: p.restored,
        })),
        restoredRecords: all.reduce((n, p) => n + p.restored, 0),
        durationMs,
      },
      'restored state stores',
    );
  }

  /** Every changelog partition of the tasks' stores, with where its restoration starts and ends. */
  private async changelogPartitions(tasks: readonly StreamTask[]): Promise<ChangelogPartition[]> {
    const wanted = tasks.flatMap((task) =>
      [...task.stores.values()].map((store) => ({
        topic: changelogTopicName(this.applicationId, store.name),
        partition: task.partition,
        store,
      })),
    );
    const watermarks = new Map<string, { low: number; high: number }>();
    for (const topic of new Set(wanted.map((w) => w.topic))) {
      for (const o of await this.admin.fetchTopicOffsets(topic)) {
        watermarks.set(`${topic}|${o.partition}`, { low: Number(o.low), high: Number(o.high) });
      }
    }
    return wanted
      .map((w) => {
        const { low, high } = watermarks.get(`${w.topic}|${w.partition}`) ?? { low: 0, high: 0 };
        let from = Number(w.store.persistent?.restoreFrom() ?? 0n);
        if (from > high || (from > 0 && from < low)) {
          this.logger.warn(
            { topic: w.topic, partition: w.partition, checkpoint: from, low, high },
            'persistent store checkpoint outside its changelog: wiped, restoring from the beginning',
          );
          w.store.persistent?.wipe();
          from = 0;
        }
        return { ...w, from, end: high, position: from, restored: 0 };
      })
      .filter((p) => p.end > 0 || p.store.persistent !== undefined);
  }
}
