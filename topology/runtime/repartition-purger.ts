import type { Admin } from 'kafkajs';
import type { Logger } from '../../common/logger';

/** A partition's committed position: the next offset the group reads there. */
export interface CommittedPartition {
  readonly topic: string;
  readonly partition: number;
  readonly nextOffset: bigint;
}

/** One DeleteRecords request: on each partition, every record before `offset` goes. */
export interface PurgeRequest {
  readonly topic: string;
  readonly partitions: { partition: number; offset: string }[];
}

/**
 * Adds a commit's positions to those waiting to be purged: only repartition topics (never a source
 * topic the application does not own, never a changelog), and per partition the furthest position.
 */
export function addCommitted(
  pending: Map<string, CommittedPartition>,
  committed: readonly CommittedPartition[],
  repartitionTopics: ReadonlySet<string>,
): void {
  for (const c of committed) {
    if (!repartitionTopics.has(c.topic)) continue;
    const key = `${c.topic}|${c.partition}`;
    const known = pending.get(key);
    if (known === undefined || c.nextOffset > known.nextOffset) {
      pending.set(key, { topic: c.topic, partition: c.partition, nextOffset: c.nextOffset });
    }
  }
}

/**
 * The requests that delete, per topic, what lies before each pending position, leaving out the
 * partitions already purged that far (a request there deletes nothing and costs a round trip).
 */
export function purgeRequests(
  pending: Iterable<CommittedPartition>,
  purgedUpTo: ReadonlyMap<string, bigint>,
): PurgeRequest[] {
  const byTopic = new Map<string, { partition: number; offset: string }[]>();
  for (const p of pending) {
    if (p.nextOffset <= (purgedUpTo.get(`${p.topic}|${p.partition}`) ?? 0n)) continue;
    const partitions = byTopic.get(p.topic) ?? [];
    partitions.push({ partition: p.partition, offset: String(p.nextOffset) });
    byTopic.set(p.topic, partitions);
  }
  return [...byTopic].map(([topic, partitions]) => ({
    topic,
    partitions: partitions.sort((a, b) => a.partition - b.partition),
  }));
}

/**
 * Deletes the records of repartition topics that the application has committed past (Kafka
 * Streams' TaskManager.maybePurgeCommittedRecords with repartition.purge.interval.ms): a repartition
 * topic is the application's own hand-off between its sub-topologies, read by its consumer group
 * alone, so a record behind the group's committed offset is never read again (a restart, a new owner
 * of the partition, a failed commit's replay all start at or after the committed offset) and would
 * only hold disk: repartition topics have no time retention (internal-topics.ts), so this purge is
 * what bounds their size.
 *
 * One reader may still be behind the low watermark: a new owner whose join read the committed offsets
 * before the previous owner's last transaction was visible in them (see TaskManager.ensureTasks). Its
 * fetch is then out of range and kafkajs moves it to the earliest offset, the low watermark: an offset
 * the previous owner committed, so nothing is read twice or skipped (this purger purges to committed
 * offsets only, and a transaction begins only once the previous one's markers are written).
 *
 * Called after each successful commit with the positions it committed; purges at most once per
 * interval and one purge at a time, in the background: a purge never delays processing or a
 * commit, and a failed one is only logged (its positions are tried again at the next purge).
 */
export class RepartitionPurger {
  /** The furthest committed position of each repartition partition not purged yet. */
  private readonly pending = new Map<string, CommittedPartition>();
  /** Where each partition was last purged to. */
  private readonly purgedUpTo = new Map<string, bigint>();
  private lastPurgeAt: number;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly deps: {
      readonly admin: Pick<Admin, 'deleteTopicRecords' | 'fetchTopicMetadata'>;
      /** The application's repartition topics (resolved names): the only topics purged. */
      readonly repartitionTopics: ReadonlySet<string>;
      /** At least this long (ms) between the starts of two purges. */
      readonly intervalMs: number;
      readonly log: Logger;
      readonly clock?: () => number;
    },
  ) {
    // As Kafka Streams: the first purge comes one interval after the start.
    this.lastPurgeAt = this.now();
  }

  /** A commit succeeded with these positions: they may be purged, now if the interval is over. */
  committed(positions: readonly CommittedPartition[]): void {
    addCommitted(this.pending, positions, this.deps.repartitionTopics);
    if (this.inFlight !== undefined || this.pending.size === 0) return;
    const now = this.now();
    if (now - this.lastPurgeAt < this.deps.intervalMs) return;
    const taken = [...this.pending.values()];
    this.pending.clear();
    const requests = purgeRequests(taken, this.purgedUpTo);
    if (requests.length === 0) return;
    this.lastPurgeAt = now;
    const purge = this.purge(requests, taken);
    this.inFlight = purge;
    void purge.finally(() => {
      this.inFlight = undefined;
    });
  }

  /** Resolves once no purge is running (a stop awaits it before the admin client disconnects). */
  async settled(): Promise<void> {
    await this.inFlight;
  }

  private async purge(
    requests: readonly PurgeRequest[],
    taken: readonly CommittedPartition[],
  ): Promise<void> {
    const { admin, log } = this.deps;
    try {
      // kafkajs finds the partitions' leaders in the admin client's metadata, which may not hold a
      // topic created since it was read (or may hold a stale leader): refresh it first.
      await admin.fetchTopicMetadata({ topics: requests.map((r) => r.topic) });
      for (const request of requests) {
        await admin.deleteTopicRecords({ topic: request.topic, partitions: request.partitions });
        for (const p of request.partitions) {
          this.purgedUpTo.set(`${request.topic}|${p.partition}`, BigInt(p.offset));
        }
      }
      log.debug({ purged: requests }, 'committed repartition records purged');
    } catch (error) {
      // Nothing is lost: the records stay until the next purge (or the topic's retention).
      addCommitted(this.pending, taken, this.deps.repartitionTopics);
      log.warn({ err: error }, 'purging committed repartition records failed; retried at the next purge');
    }
  }

  private now(): number {
    return (this.deps.clock ?? Date.now)();
  }
}
