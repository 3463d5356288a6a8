import type { Admin, Consumer, EachBatchPayload } from 'kafkajs';
import type { Logger } from '../../common/logger';
import { RecordHandlingFailedError } from '../errors';
import type { TopologyMetrics } from '../metrics';
import type { SourcePosition } from '../processor/record';
import type { StreamTask } from '../processor/stream-task';
import { instanceDirectory } from '../state/lmdb-environment';
import { StateDirectoryCleaner } from '../state/state-directory-cleaner';
import type { Topology } from '../topology';
import { highWatermarks, type BoundTracker } from './bounds';
import { CheckpointCommitter } from './checkpoint-committer';
import type { Committer } from './committer';
import { GroupMembership } from './group-membership';
import { toRawRecord } from './kafka-records';
import type { BufferedRecord, PartitionGroup } from './partition-group';
import type { ResolvedOptions } from './options';
import type { PartitionPlan } from './partition-plan';
import type { CommittedPartition } from './repartition-purger';
import type { ChangelogRestorer } from './restorer';
import { SerialQueue } from './serial-queue';
import { streamTaskCreator, TaskManager } from './task-manager';

export interface StreamThreadDeps {
  readonly options: ResolvedOptions;
  readonly log: Logger;
  readonly metrics: TopologyMetrics;
  readonly admin: Admin;
  readonly consumer: Consumer;
  readonly committer: Committer;
  readonly restorer: ChangelogRestorer;
  readonly plan: PartitionPlan;
  readonly topology: Topology;
  /** A bounded run's positions and ends (options.bounds); undefined for a live application. */
  readonly bounds: BoundTracker | undefined;
  /** The repartition topics a bounded run reads to their (stable) high watermarks. */
  readonly internalSourceTopics: readonly string[];
  readonly isRunning: () => boolean;
  readonly fail: (error: unknown) => void;
  readonly stop: () => Promise<void>;
  /** A commit succeeded at these positions (the repartition purger's hook). */
  readonly onCommitted: (positions: readonly CommittedPartition[]) => void;
}

/**
 * The consumer loop (Kafka Streams' StreamThread): fetches are processed one at a time (serial queue)
 * by their partition's task into the open checkpoint, which is committed per interval (by a fetch or
 * the commit timer), at the in-flight bounds, or at once when small and caught up; it tracks lag and
 * stalls, fires wall-clock punctuations and sees a bounded run to its end.
 */
export class StreamThread {
  private readonly serial = new SerialQueue();
  private readonly membership = new GroupMembership();
  private readonly checkpoints: CheckpointCommitter;
  private readonly tasks: TaskManager;
  private wallClockTimer: NodeJS.Timeout | undefined;
  private commitTimer: NodeJS.Timeout | undefined;
  private endReached = false;
  /** Lag per source partition at its last fetch, and when a commit (or the lag) last moved. */
  private readonly lag = new Map<string, number>();
  private lastProgressAt = Date.now();
  /** Partitions paused because their task's queue is over its bound, `topic|partition`. */
  private readonly pausedForBuffer = new Set<string>();
  /** A pass over the tasks' buffered records is queued (serial queue). */
  private bufferedPassQueued = false;

  constructor(private readonly deps: StreamThreadDeps) {
    const { options, log, metrics, consumer, committer, bounds, isRunning, fail } = deps;
    this.checkpoints = new CheckpointCommitter({
      options,
      log,
      metrics,
      committer,
      consumer,
      serial: this.serial,
      membership: this.membership,
      bounds,
      isRunning,
      fail,
      dropTask: (task) => this.dropTask(task),
      onCommitted: (ranges) => {
        this.lastProgressAt = Date.now();
        deps.onCommitted(ranges);
      },
    });
    this.tasks = new TaskManager({
      createTask: streamTaskCreator({
        topology: deps.topology,
        options,
        plan: deps.plan,
        metrics,
        log,
        checkpoint: () => this.checkpoints.open,
      }),
      restorer: deps.restorer,
      admin: deps.admin,
      applicationId: options.applicationId,
      plan: deps.plan,
      membership: this.membership,
      log,
      partitionGroup: {
        maxTaskIdleMs: options.maxTaskIdleMs,
        maxBufferedRecords: options.maxBufferedRecordsPerPartition,
      },
      commitInFlight: () => this.checkpoints.inFlight(),
      stateCleaner:
        options.stateDir === undefined
          ? undefined
          : new StateDirectoryCleaner({
              dir: instanceDirectory(options.stateDir, options.applicationId, options.instanceId),
              delayMs: options.stateCleanupDelayMs,
              clock: Date.now,
            }),
    });
  }

  /** How many tasks this instance has been assigned (0 before the first assignment). */
  assignedTaskCount(): number {
    return this.tasks.assignedCount();
  }

  /** A bounded run reached the end of its range (it stops once its linger is over). */
  reachedEnd(): boolean {
    return this.endReached;
  }

  /** How long the input has had lag without a commit (0 when it has none). */
  stalledMs(): number {
    let lag = 0;
    for (const n of this.lag.values()) lag += n;
    return lag === 0 ? 0 : Date.now() - this.lastProgressAt;
  }

  /** Joins the group and starts fetching, committing and punctuating. */
  async run(): Promise<void> {
    const { consumer, options } = this.deps;
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      this.membership.joined();
      // kafkajs fetches again from the committed offsets after a join: what is buffered is fetched again.
      this.forgetBuffered();
      this.checkpoints.onRebalance();
      for (const sink of this.deps.topology.externalSinks) sink.assigned?.();
      this.tasks.onAssignment(payload.memberId, payload.memberAssignment);
    });
    consumer.on(consumer.events.HEARTBEAT, () => this.membership.heartbeatAnswered());
    consumer.on(consumer.events.REBALANCING, () => this.membership.rebalanceStarted());
    // A fetch holding only transaction markers (or aborted records) never reaches eachBatch, yet
    // moves the position: a bounded run must see it to reach the end of a transactional topic.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.batchSize === 0)
        this.deps.bounds?.advance(payload.topic, payload.partition, BigInt(payload.lastOffset) + 1n);
      // Every fetch, markers-only ones included: a transaction's commit marker fetched on its own
      // brings the lag to 0 (otherwise a transactional input would look stuck at a lag of 1).
      const lag = Math.max(0, Number(payload.offsetLag));
      this.recordLag(payload.topic, payload.partition, lag);
      if (payload.batchSize === 0) {
        // A task held back by this (empty) partition's unknown or positive lag may go on now.
        const group = this.tasks.groupFor(payload.topic, payload.partition);
        group?.updateLag(payload.topic, lag);
        if (group !== undefined && group.buffered > 0) this.queueBufferedPass();
      }
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.deps.log.error({ err: payload.error, restart: payload.restart }, 'consumer crashed');
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [...this.deps.plan.subTopologyOfTopic.keys()], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.serial.run(() => this.onBatch(payload)),
    });
    // The checkpoint is committed once it is a commit interval old even when no fetch comes to do it
    // (a quiet input). One check at a time: a commit that cannot finish (a sink down) must not pile
    // up checks behind it.
    let commitCheckQueued = false;
    this.commitTimer = setInterval(
      () => {
        // Buffered records may have no fetch to wake them: a task waiting out max.task.idle.ms, or
        // one whose processing stopped early (a failed commit) on a partition that gets no more
        // input or is paused because its queue is full.
        if (this.tasks.active().some((t) => (this.tasks.groupOf(t)?.buffered ?? 0) > 0)) {
          this.queueBufferedPass();
        }
        if (commitCheckQueued || this.checkpoints.open.age() < options.commitIntervalMs) return;
        commitCheckQueued = true;
        void this.serial
          .run(async () => {
            if (this.deps.isRunning() && this.checkpoints.open.age() >= options.commitIntervalMs) {
              this.checkpoints.commitWhenFree();
            }
          })
          .catch((error: unknown) => this.deps.fail(error))
          .finally(() => {
            commitCheckQueued = false;
          });
      },
      Math.max(10, Math.min(options.commitIntervalMs, options.wallClockTickMs) / 2),
    );
    this.wallClockTimer = setInterval(() => {
      // Not in the serial queue: a commit that cannot finish (a sink down) holds the queue.
      this.deps.metrics.stalledSeconds.set({ application: options.applicationId }, this.stalledMs() / 1_000);
      void this.serial
        .run(async () => {
          if (!this.deps.isRunning()) return;
          // Every assigned task is restored, not only those a fetch brings records to (Kafka Streams
          // restores them at assignment): a task whose input is quiet, all of it committed before a
          // restart or a failed commit dropped the task, still has wall-clock punctuations to fire
          // (e.g. traces the correlator closes on idle input).
          await this.tasks.ensureTasks(() => this.membership.heartbeat());
          this.tasks.cleanStateDirectories();
          this.punctuateWallClock();
          await this.checkEnd();
        })
        .catch((error: unknown) => this.deps.fail(error));
    }, options.wallClockTickMs);
  }

  /**
   * Stops fetching (the application is stopping): `commit` first commits what was processed, before
   * the consumer leaves the group, so no other member can be given its partitions and process the
   * same records meanwhile. Then waits for the queued work and closes the tasks.
   */
  async shutdown({ commit }: { commit: boolean }): Promise<void> {
    clearInterval(this.wallClockTimer);
    clearInterval(this.commitTimer);
    if (commit) {
      await this.serial
        .run(() => this.checkpoints.commit({ wait: true }))
        .catch((error: unknown) => this.deps.log.error({ err: error }, 'the last commit failed'));
    }
    await this.deps.consumer.stop();
    await this.serial.drain();
    this.tasks.closeAll();
  }

  /**
   * Bounded run: once every external source partition reached its end and the internal topics were
   * processed up to their (stable) high watermarks, the run is over: tasks not created yet are
   * restored so their wall-clock punctuations fire during the linger, then the application stops.
   */
  private async checkEnd(): Promise<void> {
    const { bounds } = this.deps;
    if (bounds === undefined || this.endReached || !this.deps.isRunning() || !bounds.sourcesDone()) return;
    const highs = await highWatermarks(this.deps.admin, this.deps.internalSourceTopics);
    if (!bounds.internalDone(highs)) return;
    this.endReached = true;
    await this.tasks.ensureTasks(async () => undefined);
    const lingerMs = this.deps.options.bounds?.lingerMs ?? 0;
    this.deps.log.info({ ...bounds.progress(), lingerMs }, 'bounded run reached its end');
    setTimeout(() => void this.deps.stop(), lingerMs).unref();
  }

  private async onBatch({
    batch,
    resolveOffset,
    heartbeat,
    isRunning,
    isStale,
  }: EachBatchPayload): Promise<void> {
    if (!isRunning() || isStale() || !this.deps.isRunning()) return;
    const { topic, partition } = batch;
    const task = await this.tasks.taskFor(topic, partition, heartbeat);
    const committedAtStart = this.tasks.takeCommittedAtStart(topic, partition);
    const firstOffset = batch.messages[0]?.offset;
    if (
      committedAtStart !== undefined &&
      firstOffset !== undefined &&
      BigInt(firstOffset) < committedAtStart
    ) {
      // Fetched from a committed offset the previous owner had already moved (see ensureTasks).
      this.deps.log.info(
        { topic, partition, fetchedFrom: firstOffset, committed: String(committedAtStart) },
        'skipping records the previous owner committed after the join',
      );
      this.deps.consumer.seek({ topic, partition, offset: String(committedAtStart) });
      return;
    }
    // The lag before this fetch is processed: a fetch that cannot be committed shows as a stall.
    this.recordLag(topic, partition, Math.max(0, Number(batch.offsetLagLow()) + 1));
    // A bounded run processes nothing at or past a partition's end, and stops fetching it there.
    const end = this.deps.bounds?.endOf(topic, partition);
    const messages =
      end === undefined ? batch.messages : batch.messages.filter((m) => BigInt(m.offset) < end);
    const atEnd = messages.length < batch.messages.length;
    this.membership.heartbeat = heartbeat;
    const group = this.tasks.groupOf(task);
    if (group === undefined) return;
    // Buffered (Kafka Streams' RecordQueue): a task with several inputs orders them by timestamp.
    const stamped: BufferedRecord[] = messages.map((message) => {
      const raw = toRawRecord(topic, partition, message);
      return { raw, timestamp: group.synchronizes ? task.timestampOf(raw) : raw.timestamp };
    });
    const full = group.add(topic, stamped, {
      lag: Math.max(0, Number(batch.offsetLag())),
      // Once the fetch is processed the position moves past its trailing transaction markers too
      // (lastOffset() counts them), which a bounded run must see to reach the end of its range.
      fetchedUpTo: atEnd ? undefined : BigInt(batch.lastOffset()) + 1n,
    });
    // The consumer fetches on from past what is buffered; the committed offsets cover only what
    // was processed (Checkpoint.consumed), so buffered records of a crash are fetched again.
    const last = messages[messages.length - 1];
    if (last !== undefined) resolveOffset(last.offset);
    if (atEnd) group.end(topic);
    if (full && !atEnd) {
      this.pausedForBuffer.add(`${topic}|${partition}`);
      this.deps.consumer.pause([{ topic, partitions: [partition] }]);
    }
    if (!(await this.processTask(task, group))) return;
    // Once per commit interval, however many fetches of however many partitions it holds (the
    // commit timer covers an input that went quiet); a bounded run's partition at its end at once.
    // A fetch that caught up with its partition commits a small checkpoint at once: on a quiet input
    // a record then waits for no timer, and there is nothing to amortize the commit over; a large
    // one (under load, tasks feeding each other through repartition topics look caught up at every
    // fetch) waits for the interval. A lag of 1 counts as caught up: on a transactional input
    // (repartition topics, ingest) the offset left is usually the commit marker, which kafkajs
    // fetches without calling eachBatch.
    const { commitIntervalMs } = this.deps.options;
    const open = this.checkpoints.open;
    const caughtUp = Number(batch.offsetLag()) <= 1 && open.inFlightRecords <= EAGER_COMMIT_MAX_RECORDS;
    if (atEnd || caughtUp || open.age() >= commitIntervalMs) {
      if (!this.checkpoints.commitWhenFree()) return;
    }
    if (atEnd) this.deps.consumer.pause([{ topic, partitions: [partition] }]);
  }

  /**
   * Processes a task's buffered records for as long as its partition group is ready (Kafka Streams'
   * StreamTask#process while isProcessable): lowest timestamp first across its inputs. Returns false
   * when processing must stop (stopping, or a commit at the in-flight bounds failed).
   */
  private async processTask(task: StreamTask, group: PartitionGroup): Promise<boolean> {
    const { applicationId } = this.deps.options;
    const { metrics } = this.deps;
    const started = process.hrtime.bigint();
    const counts = new Map<string, number>();
    const enforcedBefore = group.enforced;
    let processed = 0;
    const count = (): void => {
      for (const [topic, n] of counts) {
        metrics.recordsConsumed.inc({ application: applicationId, topic }, n);
        metrics.recordsProcessed.inc({ application: applicationId, topic }, n);
      }
      counts.clear();
    };
    let goOn = true;
    let sliceStarted = performance.now();
    while (group.readyToProcess(Date.now())) {
      // Stopping or revoked: what was processed stays in the checkpoint (stop() commits it, a
      // rebalance forgets it); what is buffered is fetched again.
      if (!this.deps.isRunning() || this.checkpoints.failed || this.tasks.groupOf(task) !== group) {
        goOn = false;
        break;
      }
      const next = group.next();
      if (next === undefined) break;
      const { raw } = next;
      try {
        task.process(raw);
      } catch (error) {
        // An exception policy of `fail`: stop without committing the record.
        if (!(error instanceof RecordHandlingFailedError)) throw error;
        this.deps.fail(error);
        goOn = false;
        break;
      }
      this.checkpoints.open.consumed(task, raw);
      processed += 1;
      counts.set(raw.topic, (counts.get(raw.topic) ?? 0) + 1);
      const left = group.size(raw.topic);
      if (left === 0) {
        const fetchedUpTo = group.fetchedUpTo(raw.topic);
        if (fetchedUpTo !== undefined) this.checkpoints.open.skipTo(raw.topic, raw.partition, fetchedUpTo);
      }
      if (left === 0 || group.atBound(raw.topic)) this.resumeBuffered(raw.topic, raw.partition);
      if (performance.now() - sliceStarted >= PROCESSING_SLICE_MS) {
        // The loop goes on after pending I/O (the conditions above are checked again).
        await yieldToIo();
        sliceStarted = performance.now();
      }
      if (this.checkpoints.atInFlightBounds()) {
        // Backpressure: nothing more is processed or fetched until what is held is durable.
        count();
        if (!(await this.checkpoints.commit({ wait: true }))) {
          goOn = false;
          break;
        }
        sliceStarted = performance.now();
      }
    }
    count();
    if (group.enforced > enforcedBefore) {
      metrics.enforcedProcessing.inc(
        { application: applicationId, task: task.id },
        group.enforced - enforcedBefore,
      );
    }
    if (processed > 0) {
      metrics.processingLatency.observe(
        { application: applicationId },
        Number(process.hrtime.bigint() - started) / 1e9 / processed,
      );
    }
    return goOn;
  }

  /** Processes whatever every task has buffered and may process now (serial queue). */
  private queueBufferedPass(): void {
    if (this.bufferedPassQueued) return;
    this.bufferedPassQueued = true;
    void this.serial
      .run(async () => {
        this.bufferedPassQueued = false;
        for (const task of this.tasks.active()) {
          const group = this.tasks.groupOf(task);
          if (group === undefined || group.buffered === 0) continue;
          if (!(await this.processTask(task, group))) return;
        }
      })
      .catch((error: unknown) => this.deps.fail(error));
  }

  /**
   * Drops a task whose state will not be committed, and its buffered records: returns where they
   * start, since the consumer's position is past them (after a failed commit, recover() seeks
   * there, or further back to the abandoned checkpoints' ranges; after a rebalance kafkajs fetches
   * from the committed offsets anyway).
   */
  private dropTask(task: StreamTask): SourcePosition[] {
    const heads = this.tasks.groupOf(task)?.heads() ?? [];
    for (const topic of task.sourceTopics()) this.resumeBuffered(topic, task.partition);
    this.tasks.dropTask(task);
    return heads.map(({ topic, offset }) => ({ topic, partition: task.partition, offset }));
  }

  /** A join: every buffer is forgotten (kafkajs fetches again from the committed offsets). */
  private forgetBuffered(): void {
    for (const task of this.tasks.active()) this.tasks.groupOf(task)?.clear();
    for (const id of [...this.pausedForBuffer]) {
      const at = id.lastIndexOf('|');
      this.resumeBuffered(id.slice(0, at), Number(id.slice(at + 1)));
    }
  }

  private resumeBuffered(topic: string, partition: number): void {
    if (this.pausedForBuffer.delete(`${topic}|${partition}`)) {
      this.deps.consumer.resume([{ topic, partitions: [partition] }]);
    }
  }

  private recordLag(topic: string, partition: number, lag: number): void {
    const id = `${topic}|${partition}`;
    // From no lag to some, the stall clock starts now, not at the last commit (which may be old).
    if (lag > 0 && !this.lag.get(id) && this.stalledMs() === 0) this.lastProgressAt = Date.now();
    this.lag.set(id, lag);
    this.deps.metrics.consumerLag.set(
      { application: this.deps.options.applicationId, topic, partition: String(partition) },
      lag,
    );
  }

  /** Fires due wall-clock punctuations of every task into the checkpoint (the commit timer commits it). */
  private punctuateWallClock(): void {
    if (!this.deps.isRunning()) return;
    for (const task of this.tasks.active()) {
      const before = this.checkpoints.open.inFlightRecords;
      task.punctuateWallClock();
      if (this.checkpoints.open.inFlightRecords !== before) this.checkpoints.open.touched(task);
    }
  }
}

/**
 * A checkpoint holding at most this many outputs and sink writes is committed as soon as its fetch
 * caught up (see onBatch): a few records, as a quiet input brings, gain nothing from waiting.
 */
const EAGER_COMMIT_MAX_RECORDS = 200;

/**
 * Processing yields to pending I/O once it has run this many ms (checked after each Kafka record,
 * which may be a whole OTLP batch of hundreds of records: ~20-50 ms): the commit in flight (some ten
 * requests, each continuing in a callback), the other applications' fetches and the API share this
 * thread, and waited for whole fetches to be processed. Measured with the bench: the event loop stood
 * still for up to 360 ms at a time, a commit of 9 records took 590 ms, mostly between its requests,
 * and processing stalled at the in-flight bounds waiting for it.
 */
const PROCESSING_SLICE_MS = 5;

function yieldToIo(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
