import type { Consumer } from 'kafkajs';
import type { Logger } from '../../common/logger';
import { StaleCheckpointError } from '../errors';
import type { TopologyMetrics } from '../metrics';
import type { SourcePosition } from '../processor/record';
import type { StreamTask } from '../processor/stream-task';
import { changelogTopicName } from '../state/store';
import type { BoundTracker } from './bounds';
import { Checkpoint, type SealedCheckpoint, type SealedRange } from './checkpoint';
import type { Committer, OffsetToCommit, ProducedEnds } from './committer';
import type { GroupMembership } from './group-membership';
import {
  isFencingError,
  isRebalanceError,
  ProducedRecordTooLargeError,
  TransactionTimedOutError,
} from './kafka-errors';
import type { ResolvedOptions } from './options';
import type { SerialQueue } from './serial-queue';
import { flushSinks } from './sink-flush';
import { encodeStreamTime } from './stream-time';

export interface CheckpointCommitterDeps {
  readonly options: ResolvedOptions;
  readonly log: Logger;
  readonly metrics: TopologyMetrics;
  readonly committer: Committer;
  readonly consumer: Pick<Consumer, 'pause' | 'resume' | 'seek'>;
  /** The stream thread's queue, on which a recovery runs behind the fetch being processed. */
  readonly serial: SerialQueue;
  readonly membership: GroupMembership;
  /** A bounded run's positions and ends (options.bounds); undefined for a live application. */
  readonly bounds: BoundTracker | undefined;
  readonly isRunning: () => boolean;
  readonly fail: (error: unknown) => void;
  /**
   * Closes a task whose state will not be committed (restored before it processes again); returns
   * where its buffered, unprocessed records start: the consumer's position is past them.
   */
  readonly dropTask: (task: StreamTask) => readonly SourcePosition[];
  /** A commit covered some partitions (the stall clock restarts), at these positions. */
  readonly onCommitted: (ranges: readonly SealedRange[]) => void;
}

/**
 * Owns the checkpoints (Quix Streams' checkpointing/checkpoint.py): the open one, where tasks' effects
 * go, and the one being made durable (flush sinks → produce → commit) while the next one fills; and
 * what happens when a commit fails or the group rebalances while a checkpoint is open.
 */
export class CheckpointCommitter {
  /** Where tasks' effects go until they are committed. */
  private checkpoint = new Checkpoint();
  /**
   * The checkpoint being made durable while the next one fills (at most one: commits go in order);
   * it resolves to whether it was committed.
   */
  private committing: Promise<boolean> | undefined;
  private committingCheckpoint: Checkpoint | undefined;
  /** A commit failed: nothing is processed or committed until recover() has run (serial queue). */
  private commitFailed = false;
  /** The open checkpoint was due while a commit was in flight: it is committed once that one is done. */
  private commitDue = false;

  constructor(private readonly deps: CheckpointCommitterDeps) {}

  /** The open checkpoint (a new one after every commit or abandon: read it again each time). */
  get open(): Checkpoint {
    return this.checkpoint;
  }

  /** A commit failed and its recovery has not run yet. */
  get failed(): boolean {
    return this.commitFailed;
  }

  /** The commit in flight, resolving to whether it was committed; undefined when there is none. */
  inFlight(): Promise<boolean> | undefined {
    return this.committing;
  }

  /** Whether what is held reached the in-flight bounds (options.maxInFlightRecords / Bytes). */
  atInFlightBounds(): boolean {
    const { maxInFlightRecords, maxInFlightBytes } = this.deps.options;
    // The open checkpoint and the one being committed count together against the bounds.
    const committing = this.committingCheckpoint;
    return (
      this.checkpoint.inFlightRecords + (committing?.inFlightRecords ?? 0) >= maxInFlightRecords ||
      this.checkpoint.inFlightBytes + (committing?.inFlightBytes ?? 0) >= maxInFlightBytes
    );
  }

  /**
   * The open checkpoint is due (its interval passed, its fetch caught up, a bounded run's end): it is
   * committed now, or, while the previous commit is still in flight, as soon as that one is done,
   * without waiting for it. Tasks go on processing meanwhile, into the open checkpoint, which the
   * in-flight bounds keep bounded (atInFlightBounds). Waiting here instead left the thread idle for
   * most of each commit (sink flushes cost ~15 ms per ClickHouse insert whatever its size): processing
   * and committing took turns rather than overlapping, and each checkpoint held only one interval's
   * records. Returns false when a commit failed (see commit).
   */
  commitWhenFree(): boolean {
    if (this.commitFailed) return false;
    if (this.committing === undefined) void this.commit().catch((error: unknown) => this.deps.fail(error));
    else this.commitDue = true;
    return true;
  }

  /**
   * Starts making the open checkpoint durable and opens the next one, so that processing goes on
   * while the sinks flush and the transaction commits (Kafka Streams' tasks keep processing between
   * commits too). Commits go one at a time, in order: a previous one still running is awaited first,
   * and a checkpoint whose predecessor failed is never committed (its state built on what was lost).
   * `wait` also awaits this commit (a stop). Returns false when a commit failed: the caller stops
   * processing its fetch, and recover() (queued) abandons everything since the last durable commit.
   */
  async commit({ wait = false }: { wait?: boolean } = {}): Promise<boolean> {
    if (this.committing !== undefined && !(await this.committing)) return false;
    if (this.commitFailed) return false;
    const checkpoint = this.checkpoint;
    if (checkpoint.isEmpty()) return true;
    this.checkpoint = new Checkpoint(this.deps.membership.generation);
    // makeDurable reports a failed commit as false; anything it throws besides is a defect: fatal.
    const commit = this.makeDurable(checkpoint, checkpoint.seal()).catch((error: unknown) => {
      this.deps.fail(error);
      return false;
    });
    this.committing = commit;
    this.committingCheckpoint = checkpoint;
    void commit.then((committed) => {
      if (this.committing !== commit) return;
      this.committing = undefined;
      this.committingCheckpoint = undefined;
      // A checkpoint that became due meanwhile goes next, in the serial queue like any commit. After
      // a failure there is none to make: recover() abandons the open checkpoint.
      const due = this.commitDue;
      this.commitDue = false;
      if (due && committed && this.deps.isRunning()) {
        void this.deps.serial
          .run(async () => {
            if (this.deps.isRunning()) await this.commit();
          })
          .catch((error: unknown) => this.deps.fail(error));
      }
    });
    return wait ? commit : true;
  }

  /**
   * GROUP_JOIN (the membership's generation already moved on): after any rebalance kafkajs fetches
   * again from the committed offsets, so an open checkpoint is forgotten (its tasks are restored)
   * rather than committed: its records will be processed again, here or by the partition's new owner.
   */
  onRebalance(): void {
    this.abandon('rebalance');
    // A checkpoint still being committed cannot commit in the new generation (checkMembership): the
    // state its tasks hold may never be committed either.
    for (const task of this.committingCheckpoint?.tasks ?? []) this.deps.dropTask(task);
  }

  /**
   * Every sink the checkpoint wrote is flushed once, for all its ranges (retried with backoff while
   * the application runs in the same generation; the checkpoint's partitions are paused meanwhile),
   * then its records and every partition's offset are committed together (committer.ts). On failure
   * the recovery is queued behind the fetch being processed, and false returned.
   */
  private async makeDurable(checkpoint: Checkpoint, sealed: SealedCheckpoint): Promise<boolean> {
    const { options, log, metrics, consumer, membership } = this.deps;
    const control: FetchControl = {
      heartbeat: () => membership.heartbeat(),
      shouldContinue: () => this.deps.isRunning() && checkpoint.generation === membership.generation,
    };
    const { applicationId } = options;
    const started = process.hrtime.bigint();
    const { ranges, records } = sealed;
    metrics.inFlightRecords.set({ application: applicationId }, checkpoint.inFlightRecords);
    const paused: { topic: string; partitions: number[] }[] = [];
    let ends: ProducedEnds;
    try {
      await flushSinks(checkpoint.sinks, ranges, {
        initialBackoffMs: options.sinkRetryInitialMs,
        maxBackoffMs: options.sinkRetryMaxMs,
        keepAlive: control.heartbeat,
        // A stop gives a failing sink no more retries: what is not committed is processed again
        // after the restart, and a stop must not wait for a sink that may never come back.
        shouldContinue: control.shouldContinue,
        onRetry: (sink, attempt, error) => {
          if (paused.length === 0) {
            for (const r of ranges) paused.push({ topic: r.topic, partitions: [r.partition] });
            consumer.pause(paused);
            metrics.pausedPartitions.set({ application: applicationId }, paused.length);
          }
          log.warn(
            { err: error, sink: sink.name, attempt, ranges: ranges.length },
            'sink flush failed, partitions paused, retrying',
          );
        },
      });
      const offsets: OffsetToCommit[] = ranges.map((r) => ({
        topic: r.topic,
        partition: r.partition,
        offset: String(r.nextOffset),
        metadata: encodeStreamTime(r.streamTime),
      }));
      // The membership check is the last step before the transaction commits (see committer.ts).
      ends = await this.deps.committer.commit(records, offsets, () =>
        this.checkMembership(checkpoint, control),
      );
      this.countProduced(records);
    } catch (error) {
      this.commitFailed = true;
      void this.deps.serial
        .run(() => this.recover(checkpoint, error))
        .catch((e: unknown) => this.deps.fail(e));
      return false;
    } finally {
      if (paused.length > 0) {
        consumer.resume(paused);
        metrics.pausedPartitions.set({ application: applicationId }, 0);
      }
      metrics.inFlightRecords.set({ application: applicationId }, 0);
    }
    await this.persistCommitted(checkpoint, ends);
    metrics.commitLatency.observe(
      { application: applicationId, guarantee: options.processingGuarantee },
      Number(process.hrtime.bigint() - started) / 1e9,
    );
    const { bounds } = this.deps;
    if (bounds !== undefined) {
      for (const r of ranges) bounds.advance(r.topic, r.partition, r.nextOffset);
      options.bounds?.onProgress?.(bounds.progress());
    }
    for (const task of checkpoint.tasks) {
      for (const [name, store] of task.stores) {
        metrics.storeEntries.set({ application: applicationId, store: name, task: task.id }, store.size());
      }
    }
    if (ranges.length > 0) this.deps.onCommitted(ranges);
    log.debug({ ranges: ranges.length }, 'committed');
    return true;
  }

  /**
   * Throws unless the instance is still the group member that fetched the checkpoint's records: a
   * heartbeat (kafkajs sends it only once per heartbeat interval, and a failed one does not stop the
   * next calls from passing), no join since the checkpoint began, and a heartbeat answered within
   * the session timeout (a longer silence, e.g. the process was stopped, may have been an eviction).
   */
  private async checkMembership(checkpoint: Checkpoint, control: FetchControl): Promise<void> {
    const { membership, options } = this.deps;
    await control.heartbeat();
    if (checkpoint.generation !== membership.generation || membership.rebalancing) {
      throw new StaleCheckpointError('the group rebalanced since the checkpoint began');
    }
    const silentMs = Date.now() - membership.lastHeartbeatAt;
    if (silentMs >= options.sessionTimeoutMs) {
      throw new StaleCheckpointError(
        `no heartbeat answered for ${silentMs} ms (session timeout ${options.sessionTimeoutMs} ms): this instance may have been evicted`,
      );
    }
  }

  /**
   * Persistent stores write what was just committed, with the changelog offset it reaches. One that
   * cannot (disk full...) stops the application: its disk keeps the previous checkpoint, a prefix of
   * the changelog that a restart continues from (dropping only its task would let the open
   * checkpoint commit changes its restored state lacks).
   */
  private async persistCommitted(checkpoint: Checkpoint, ends: ProducedEnds): Promise<void> {
    const { applicationId } = this.deps.options;
    const writes: Promise<void>[] = [];
    for (const task of checkpoint.tasks) {
      for (const [name, store] of task.stores) {
        const end = ends.get(`${changelogTopicName(applicationId, name)}|${task.partition}`);
        if (store.persistent !== undefined) writes.push(store.persistent.committed(end));
      }
    }
    await Promise.all(writes);
  }

  private countProduced(records: readonly { topic: string }[]): void {
    const counts = new Map<string, number>();
    for (const { topic } of records) counts.set(topic, (counts.get(topic) ?? 0) + 1);
    for (const [topic, n] of counts) {
      this.deps.metrics.recordsProduced.inc({ application: this.deps.options.applicationId, topic }, n);
    }
  }

  /**
   * A checkpoint could not be made durable: forget its effects (task state, sink buffers) and make
   * the consumer fetch its records again. A fenced producer means another instance took our
   * transactional id: this instance is a zombie and stops.
   */
  private async recover(checkpoint: Checkpoint, error: unknown): Promise<void> {
    // What was processed after this checkpoint was taken built on its state: forgotten too, and
    // fetched again from its first offsets (where the failed checkpoint does not cover them).
    // A rebalance since the checkpoint began already forgot what was built on it (onRebalance).
    const rebalanced = checkpoint.generation !== this.deps.membership.generation;
    const since = this.checkpoint.ranges();
    // Dropped tasks' buffered records are fetched again too, from the first of them.
    const buffered = rebalanced ? [] : [...this.abandon('commit failed')];
    checkpoint.discard();
    for (const task of checkpoint.tasks) buffered.push(...this.deps.dropTask(task));
    this.commitFailed = false;
    if (isFatalCommitError(error)) {
      this.deps.fail(error);
      return;
    }
    const ranges = checkpoint.ranges();
    this.deps.log.error(
      { err: error, tasks: [...checkpoint.tasks].map((t) => t.id), ranges: ranges.length },
      'commit failed: checkpoint abandoned, tasks will be restored and the records processed again',
    );
    // After a rebalance the consumer restarts from the committed offsets by itself (and a seek now
    // would move it past what was processed and not committed).
    if (isRebalanceError(error) || !this.deps.isRunning() || rebalanced) return;
    const firstOffsets = new Map<string, SourcePosition>();
    for (const p of buffered) firstOffsets.set(`${p.topic}|${p.partition}`, p);
    // A range's first record comes before anything buffered of its partition.
    for (const r of [...since, ...ranges]) {
      firstOffsets.set(`${r.topic}|${r.partition}`, { ...r, offset: r.firstOffset });
    }
    for (const p of firstOffsets.values()) {
      this.deps.consumer.seek({ topic: p.topic, partition: p.partition, offset: p.offset });
    }
    await new Promise((resolve) => setTimeout(resolve, this.deps.options.sinkRetryInitialMs));
  }

  /**
   * Forgets the open checkpoint: sinks drop its writes and every task it changed is dropped, to be
   * restored from its changelog before it processes again (its stores hold uncommitted changes).
   * Returns where the dropped tasks' buffered records start.
   */
  private abandon(reason: string): SourcePosition[] {
    const checkpoint = this.checkpoint;
    this.checkpoint = new Checkpoint(this.deps.membership.generation);
    if (checkpoint.isEmpty() && checkpoint.tasks.size === 0) return [];
    checkpoint.discard();
    const buffered = [...checkpoint.tasks].flatMap((task) => this.deps.dropTask(task));
    this.deps.log.warn(
      { reason, tasks: [...checkpoint.tasks].map((t) => t.id), ranges: checkpoint.ranges().length },
      'checkpoint abandoned: its tasks will be restored and its records processed again',
    );
    return buffered;
  }
}

/** What a commit may ask of the fetch it runs in: keep the membership alive, and whether to go on. */
interface FetchControl {
  readonly heartbeat: () => Promise<void>;
  readonly shouldContinue: () => boolean;
}

/**
 * Errors a replay cannot fix: fenced (another instance owns the transactional id) or a record the
 * broker refuses as too large (the replay would produce it again).
 */
function isFatalCommitError(error: unknown): boolean {
  if (error instanceof TransactionTimedOutError) return false;
  return isFencingError(error) || error instanceof ProducedRecordTooLargeError;
}
