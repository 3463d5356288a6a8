import {
  Kafka,
  logLevel,
  Partitioners,
  type Admin,
  type Consumer,
  type EachBatchPayload,
  type Producer,
} from 'kafkajs';
import type { Logger } from '../../common/logger';
import { describeTopology } from '../describe';
import { TopologyMetrics } from '../metrics';
import { StreamTask } from '../processor/stream-task';
import { changelogTopicName } from '../state/store';
import { resolveTopic, type Topology } from '../topology';
import { highWatermarks, prepareBoundedRun, type BoundTracker } from './bounds';
import { AtLeastOnceCommitter, TransactionalCommitter, type Committer } from './committer';
import { InFlightBatch } from './in-flight-batch';
import { isFencingError, isRebalanceError, ProducedRecordTooLargeError } from './kafka-errors';
import { ensureTopics, internalTopics } from './internal-topics';
import { toRawRecord } from './kafka-records';
import { resolveOptions, type ResolvedOptions, type StreamsAppOptions } from './options';
import { planPartitions, type PartitionPlan } from './partition-plan';
import { ChangelogRestorer } from './restorer';
import { SerialQueue } from './serial-queue';
import { committedStreamTimes, encodeStreamTime } from './stream-time';
import { flushSinks } from './sink-flush';
import { kafkajsLogCreator } from './kafkajs-log';
import { BatchAbandonedError, StreamsRuntimeError } from '../errors';
import { taskAssignor } from './task-assignor';

type State = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

/**
 * Runs a topology on Kafka: one consumer (group = application id) and one producer per instance,
 * one task per (sub-topology, partition), stores restored from changelogs before a task runs.
 *
 * Each fetched batch of a partition is processed record by record (offset order) in runs bounded by
 * maxInFlightRecords/Bytes; each run is made durable before the next starts: external sinks are
 * flushed (retried with backoff, partition paused), then outputs + changelog + offsets are
 * committed in one transaction (exactly_once) or produced then committed (at_least_once). A failed
 * commit aborts, drops the task (its stores hold uncommitted changes; they are restored again) and
 * seeks back to the run's first offset. See runtime/README.md for the guarantees.
 */
export class StreamsApp {
  readonly metrics: TopologyMetrics;
  private readonly options: ResolvedOptions;
  private readonly log: Logger;
  private readonly kafka: Kafka;
  private readonly serial = new SerialQueue();
  private readonly tasks = new Map<string, StreamTask>();
  /** Task ids assigned to this instance that have no restored task yet. */
  private readonly pendingTasks = new Set<string>();
  private assigned = new Set<string>();
  private memberId: string | undefined;
  private plan: PartitionPlan | undefined;
  private admin: Admin | undefined;
  private consumer: Consumer | undefined;
  private committer: Committer | undefined;
  private restorer: ChangelogRestorer | undefined;
  private wallClockTimer: NodeJS.Timeout | undefined;
  private state: State = 'created';
  /** A bounded run's positions and ends (options.bounds); undefined for a live application. */
  private bounds: BoundTracker | undefined;
  private internalSourceTopics: string[] = [];
  private endReached = false;
  /** Where tasks' outputs go: the in-flight batch being processed. */
  private current: InFlightBatch;
  /** Store changelog topics: their records are cached per key within a run (in-flight-batch.ts). */
  private readonly changelogTopics: ReadonlySet<string>;
  private failure: ((error: unknown) => void) | undefined;
  /** Settles when the application stops: resolves on stop(), rejects on a fatal error (e.g. fenced). */
  readonly done: Promise<void>;
  private finish!: () => void;

  constructor(
    private readonly topology: Topology,
    options: StreamsAppOptions,
  ) {
    this.options = resolveOptions(options);
    this.log = this.options.logger.child({ component: 'streams', application: this.options.applicationId });
    this.metrics = new TopologyMetrics(this.options.registry, this.options.applicationId);
    this.changelogTopics = new Set(
      topology.subTopologies.flatMap((s) =>
        s.stores.map((store) => changelogTopicName(this.options.applicationId, store)),
      ),
    );
    this.current = new InFlightBatch(this.changelogTopics);
    this.kafka = new Kafka({
      clientId: `${this.options.applicationId}-${this.options.instanceId}`,
      brokers: [...this.options.brokers],
      logLevel: logLevel.WARN,
      logCreator: kafkajsLogCreator(this.log),
    });
    this.done = new Promise<void>((resolve, reject) => {
      this.finish = resolve;
      this.failure = reject;
    });
    // A fatal error is reported through `done`; avoid an unhandled rejection when nobody awaits it.
    this.done.catch(() => undefined);
  }

  /** How many tasks this instance has been assigned (0 before the first assignment). */
  assignedTaskCount(): number {
    return this.assigned.size;
  }

  /** A bounded run reached the end of its range (it stops once its linger is over). */
  reachedEnd(): boolean {
    return this.endReached;
  }

  describe(): string {
    return describeTopology(this.topology, this.options.applicationId);
  }

  /** Creates internal topics, checks co-partitioning, joins the group and starts processing. */
  async start(): Promise<void> {
    if (this.state !== 'created') throw new StreamsRuntimeError(`cannot start a ${this.state} application`);
    this.state = 'starting';
    const { applicationId, processingGuarantee } = this.options;
    this.log.info(
      { guarantee: processingGuarantee, instance: this.options.instanceId },
      `topology\n${this.describe()}`,
    );
    const admin = this.kafka.admin();
    this.admin = admin;
    await admin.connect();
    const plan = await this.planAndCreateTopics(admin);
    this.plan = plan;
    if (this.options.bounds !== undefined) {
      const internal = new Set(
        this.topology.subTopologies.flatMap((s) =>
          s.sourceTopics.filter((t) => t.kind !== 'external').map((t) => resolveTopic(t, applicationId)),
        ),
      );
      this.internalSourceTopics = [...internal];
      this.bounds = await prepareBoundedRun(
        admin,
        applicationId,
        [...plan.subTopologyOfTopic.keys()].filter((t) => !internal.has(t)),
        this.internalSourceTopics,
        this.options.bounds,
      );
      this.options.bounds.onProgress?.(this.bounds.progress());
    }
    this.restorer = new ChangelogRestorer(
      this.kafka,
      admin,
      applicationId,
      this.options.instanceId,
      this.log,
      this.metrics,
    );

    const consumer = this.kafka.consumer({
      groupId: applicationId,
      readUncommitted: false,
      allowAutoTopicCreation: false,
      sessionTimeout: this.options.sessionTimeoutMs,
      heartbeatInterval: this.options.heartbeatIntervalMs,
      maxBytesPerPartition: this.options.maxFetchBytesPerPartition,
      maxWaitTimeInMs: this.options.fetchMaxWaitMs,
      minBytes: this.options.fetchMinBytes,
      partitionAssigners: [taskAssignor(plan.subTopologyOfTopic)],
    });
    this.consumer = consumer;
    const { maxProduceBytesPerPartition } = this.options;
    const committer =
      processingGuarantee === 'exactly_once'
        ? new TransactionalCommitter(() => this.createProducer(), applicationId, maxProduceBytesPerPartition)
        : new AtLeastOnceCommitter(() => this.createProducer(), consumer, maxProduceBytesPerPartition);
    this.committer = committer;
    // For a transactional producer, connecting (InitProducerId) fences a previous incarnation with
    // the same transactional id and aborts its open transaction.
    await committer.connect();
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) =>
      this.onAssignment(payload.memberId, payload.memberAssignment),
    );
    // A fetch holding only transaction markers (or aborted records) never reaches eachBatch, yet
    // moves the position: a bounded run must see it to reach the end of a transactional topic.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.batchSize === 0)
        this.bounds?.advance(payload.topic, payload.partition, BigInt(payload.lastOffset) + 1n);
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.log.error({ err: payload.error, restart: payload.restart }, 'consumer crashed');
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [...plan.subTopologyOfTopic.keys()], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.serial.run(() => this.onBatch(payload)),
    });
    this.wallClockTimer = setInterval(() => {
      void this.serial
        .run(async () => {
          await this.punctuateWallClock();
          await this.checkEnd();
        })
        .catch((error: unknown) => this.fail(error));
    }, this.options.wallClockTickMs);
    this.state = 'running';
  }

  /** Stops fetching, lets the current run commit, leaves the group and disconnects. Idempotent. */
  async stop(): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped') return this.done.catch(() => undefined);
    this.state = 'stopping';
    this.log.info('stopping: finishing the current batch, committing, leaving the group');
    clearInterval(this.wallClockTimer);
    await this.consumer?.stop();
    await this.serial.drain();
    for (const task of this.tasks.values()) task.close();
    this.tasks.clear();
    await this.consumer?.disconnect();
    await this.committer?.disconnect();
    await this.admin?.disconnect();
    this.state = 'stopped';
    this.log.info('stopped');
    this.finish();
  }

  /**
   * Bounded run: once every external source partition reached its end and the internal topics were
   * processed up to their (stable) high watermarks, the run is over: tasks not created yet are
   * restored so their wall-clock punctuations fire during the linger, then the application stops.
   */
  private async checkEnd(): Promise<void> {
    const bounds = this.bounds;
    if (bounds === undefined || this.endReached || this.state !== 'running' || !bounds.sourcesDone()) return;
    const highs = await highWatermarks(this.admin as Admin, this.internalSourceTopics);
    if (!bounds.internalDone(highs)) return;
    this.endReached = true;
    await this.ensureTasks(async () => undefined);
    const lingerMs = this.options.bounds?.lingerMs ?? 0;
    this.log.info({ ...bounds.progress(), lingerMs }, 'bounded run reached its end');
    setTimeout(() => void this.stop(), lingerMs).unref();
  }

  /**
   * The instance's producer; created again by the committer after a failed commit (new epoch,
   * sequence numbers reset), see committer.ts.
   */
  private createProducer(): Producer {
    const { applicationId, instanceId, transactionTimeoutMs } = this.options;
    if (this.options.processingGuarantee === 'exactly_once') {
      return this.kafka.producer({
        transactionalId: `${applicationId}-${instanceId}`,
        idempotent: true,
        maxInFlightRequests: 1,
        transactionTimeout: transactionTimeoutMs,
        createPartitioner: Partitioners.DefaultPartitioner,
        // Right after a commit the broker still completes the transaction and answers the next
        // one's AddPartitionsToTxn with CONCURRENT_TRANSACTIONS; the Java client retries that
        // after 20 ms, kafkajs's default of 300 ms would stall every run.
        // Unbounded retries, as kafkajs defaults to for idempotent producers (a bound would void the
        // sequence guarantees); only retriable errors are retried, others surface at once.
        retry: { initialRetryTime: 20, maxRetryTime: 1_000, retries: Number.MAX_SAFE_INTEGER },
      });
    }
    return this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  }

  private fail(error: unknown): void {
    this.log.fatal({ err: error }, 'streams application failed');
    this.failure?.(error);
    void this.stop();
  }

  private async planAndCreateTopics(admin: Admin): Promise<PartitionPlan> {
    const { applicationId } = this.options;
    const external = [
      ...new Set(
        this.topology.subTopologies.flatMap((s) =>
          s.sourceTopics.filter((t) => t.kind === 'external').map((t) => resolveTopic(t, applicationId)),
        ),
      ),
    ];
    const existing = new Set(await admin.listTopics());
    const counts = new Map<string, number>();
    const present = external.filter((t) => existing.has(t));
    if (present.length > 0) {
      for (const t of (await admin.fetchTopicMetadata({ topics: present })).topics) {
        counts.set(t.name, t.partitions.length);
      }
    }
    const plan = planPartitions(this.topology, applicationId, counts);
    const { lateTopic, dlqTopic } = this.options;
    await ensureTopics(
      admin,
      internalTopics(this.topology, applicationId, plan, { lateTopic, dlqTopic }),
      this.options.replicationFactor,
      new Set([lateTopic, dlqTopic]),
    );
    return plan;
  }

  /**
   * GROUP_JOIN: drop tasks we lost (they committed at the end of their last run), queue new ones for
   * restoration. A new member id means this instance was evicted from the group (e.g. a stall longer
   * than the session timeout) and missed generations in which others may have processed its
   * partitions: every task is dropped and restored.
   */
  private onAssignment(memberId: string, assignment: Record<string, number[]>): void {
    if (this.memberId !== undefined && memberId !== this.memberId) {
      this.log.warn(
        { previous: this.memberId, memberId },
        'rejoined the group as a new member: restoring every task',
      );
      for (const task of this.tasks.values()) task.close();
      this.tasks.clear();
      this.assigned = new Set();
    }
    this.memberId = memberId;
    const plan = this.plan as PartitionPlan;
    const next = new Set<string>();
    for (const [topic, partitions] of Object.entries(assignment)) {
      const sub = plan.subTopologyOfTopic.get(topic);
      if (sub === undefined) continue;
      for (const p of partitions) next.add(`${sub}_${p}`);
    }
    const revoked = [...this.assigned].filter((id) => !next.has(id));
    for (const id of revoked) {
      this.tasks.get(id)?.close();
      this.tasks.delete(id);
      this.pendingTasks.delete(id);
    }
    for (const id of [...this.pendingTasks]) if (!next.has(id)) this.pendingTasks.delete(id);
    for (const id of next) if (!this.tasks.has(id)) this.pendingTasks.add(id);
    this.assigned = next;
    this.log.info({ assigned: [...next].sort(), revoked }, 'partitions assigned');
  }

  /** Creates and restores every assigned task that is not ready yet. */
  private async ensureTasks(keepAlive: () => Promise<void>): Promise<void> {
    if (this.pendingTasks.size === 0) return;
    const created: StreamTask[] = [];
    for (const id of [...this.pendingTasks]) {
      const at = id.lastIndexOf('_');
      created.push(this.createTask(Number(id.slice(0, at)), Number(id.slice(at + 1))));
    }
    await (this.restorer as ChangelogRestorer).restore(created, keepAlive);
    const committed = await committedStreamTimes(this.admin as Admin, this.options.applicationId, [
      ...new Set(created.flatMap((t) => t.sourceTopics())),
    ]);
    for (const task of created) {
      for (const topic of task.sourceTopics()) {
        task.restoreStreamTime(committed.get(`${topic}|${task.partition}`) ?? Number.NEGATIVE_INFINITY);
      }
    }
    for (const task of created) {
      this.tasks.set(task.id, task);
      this.pendingTasks.delete(task.id);
    }
  }

  private createTask(subTopologyId: number, partition: number): StreamTask {
    const subTopology = this.topology.subTopologies[subTopologyId];
    if (!subTopology) throw new StreamsRuntimeError(`unknown sub-topology ${subTopologyId}`);
    return new StreamTask({
      applicationId: this.options.applicationId,
      topology: this.topology,
      subTopology,
      partition,
      lateTopic: this.options.lateTopic,
      dlqTopic: this.options.dlqTopic,
      clock: Date.now,
      metrics: this.metrics,
      collector: {
        send: (record) => this.current.send(record),
        sinkWrite: (sink, record, source) => this.current.sinkWrite(sink, record, source),
      },
      onDeadLetter: (error, raw) =>
        this.log.warn(
          {
            err: error,
            topic: raw.topic,
            partition: raw.partition,
            offset: raw.offset,
            dlq: this.options.dlqTopic,
          },
          'record sent to the dead-letter queue',
        ),
      onPunctuationError: (error) =>
        this.log.error({ err: error, task: `${subTopologyId}_${partition}` }, 'punctuation failed'),
    });
  }

  private async onBatch({
    batch,
    resolveOffset,
    heartbeat,
    isRunning,
    isStale,
    pause,
  }: EachBatchPayload): Promise<void> {
    if (!isRunning() || isStale() || this.state !== 'running') return;
    const plan = this.plan as PartitionPlan;
    const taskId = `${plan.subTopologyOfTopic.get(batch.topic)}_${batch.partition}`;
    if (!this.tasks.has(taskId) && !this.pendingTasks.has(taskId)) this.pendingTasks.add(taskId);
    await this.ensureTasks(heartbeat);
    const task = this.tasks.get(taskId) as StreamTask;
    const { topic, partition } = batch;
    const { maxInFlightRecords, maxInFlightBytes } = this.options;
    // A bounded run processes nothing at or past a partition's end, and stops fetching it there.
    const end = this.bounds?.endOf(topic, partition);
    const messages =
      end === undefined ? batch.messages : batch.messages.filter((m) => BigInt(m.offset) < end);
    const atEnd = messages.length < batch.messages.length;
    let next = 0;
    while (next < messages.length && isRunning() && !isStale() && this.state === 'running') {
      const inFlight = new InFlightBatch(this.changelogTopics);
      this.current = inFlight;
      while (
        next < messages.length &&
        inFlight.inFlightRecords < maxInFlightRecords &&
        inFlight.inFlightBytes < maxInFlightBytes
      ) {
        const raw = toRawRecord(topic, partition, messages[next] as (typeof messages)[number]);
        this.metrics.recordsConsumed.inc({ application: this.options.applicationId, topic });
        task.process(raw);
        inFlight.consumed(raw);
        next += 1;
      }
      this.metrics.inFlightRecords.set({ application: this.options.applicationId }, inFlight.inFlightRecords);
      // The partition is paused while a run over the in-flight bound, or waiting on a failing sink, drains.
      let resume: (() => void) | undefined;
      const hold = (): void => {
        if (resume) return;
        resume = pause();
        this.metrics.pausedPartitions.inc({ application: this.options.applicationId });
      };
      if (next < messages.length) hold();
      try {
        await this.commit(inFlight, task.streamTime(), { heartbeat, isRunning, isStale, hold });
      } catch (error) {
        await this.recover(task, inFlight, error);
        return;
      } finally {
        if (resume) {
          resume();
          this.metrics.pausedPartitions.dec({ application: this.options.applicationId });
        }
        this.metrics.inFlightRecords.set({ application: this.options.applicationId }, 0);
      }
      const range = inFlight.range();
      if (range) {
        resolveOffset(range.lastOffset);
        if (this.bounds) {
          this.bounds.advance(topic, partition, BigInt(range.lastOffset) + 1n);
          this.options.bounds?.onProgress?.(this.bounds.progress());
        }
      }
      this.metrics.consumerLag.set(
        { application: this.options.applicationId, topic, partition: String(partition) },
        Math.max(0, Number(batch.highWatermark) - Number(range?.lastOffset ?? -1) - 1),
      );
      for (const [name, store] of task.stores) {
        this.metrics.storeEntries.set(
          { application: this.options.applicationId, store: name, task: task.id },
          store.size(),
        );
      }
      await heartbeat();
    }
    if (next < messages.length) return;
    if (atEnd) {
      this.consumer?.pause([{ topic, partitions: [partition] }]);
    } else if (this.bounds) {
      // The whole batch is committed: kafkajs moved its position past trailing transaction markers
      // too (lastOffset() counts them), which a bounded run must see to reach the end.
      this.bounds.advance(topic, partition, BigInt(batch.lastOffset()) + 1n);
    }
  }

  private async commit(
    inFlight: InFlightBatch,
    streamTime: number,
    control: {
      heartbeat: () => Promise<void>;
      isRunning: () => boolean;
      isStale: () => boolean;
      /** Pauses the source partition until the commit is over. */
      hold: () => void;
    },
  ): Promise<void> {
    const started = process.hrtime.bigint();
    const range = inFlight.range();
    await flushSinks(inFlight.sinks, range ? [range] : [], {
      initialBackoffMs: this.options.sinkRetryInitialMs,
      maxBackoffMs: this.options.sinkRetryMaxMs,
      keepAlive: control.heartbeat,
      shouldContinue: () => control.isRunning() && !control.isStale(),
      onRetry: (sink, attempt, error) => {
        control.hold();
        this.log.warn(
          { err: error, sink: sink.name, attempt, range },
          'sink flush failed, partition paused, retrying',
        );
      },
    });
    // Last check that we still own the partition before its offsets move (narrows the zombie window).
    // A stop does not prevent the commit: shutdown commits the run in progress.
    if (control.isStale()) throw new BatchAbandonedError('partition revoked before commit');
    await control.heartbeat();
    const records = inFlight.records();
    await (this.committer as Committer).commit(records, range, encodeStreamTime(streamTime));
    for (const record of records) {
      this.metrics.recordsProduced.inc({ application: this.options.applicationId, topic: record.topic });
    }
    this.metrics.commitLatency.observe(
      { application: this.options.applicationId, guarantee: this.options.processingGuarantee },
      Number(process.hrtime.bigint() - started) / 1e9,
    );
    this.log.debug({ range, records: records.length }, 'committed');
  }

  /**
   * A run could not be made durable: forget its effects (task state, sink buffers), and make the
   * consumer fetch its records again. A fenced producer means another instance took our
   * transactional id: this instance is a zombie and stops.
   */
  private async recover(task: StreamTask, inFlight: InFlightBatch, error: unknown): Promise<void> {
    inFlight.discard();
    task.close();
    this.tasks.delete(task.id);
    if (this.assigned.has(task.id)) this.pendingTasks.add(task.id);
    const range = inFlight.range();
    if (isFatalCommitError(error)) {
      this.fail(error);
      return;
    }
    this.log.error(
      { err: error, task: task.id, range },
      'commit failed: batch aborted, task will be restored and the records replayed',
    );
    // After a rebalance the consumer restarts from the committed offsets by itself.
    if (isRebalanceError(error)) throw error;
    if (range && this.state === 'running') {
      this.consumer?.seek({ topic: range.topic, partition: range.partition, offset: range.firstOffset });
    }
    await new Promise((resolve) => setTimeout(resolve, this.options.sinkRetryInitialMs));
  }

  /** Fires due wall-clock punctuations of every task, each task's effects committed on their own. */
  private async punctuateWallClock(): Promise<void> {
    if (this.state !== 'running') return;
    for (const task of [...this.tasks.values()]) {
      const inFlight = new InFlightBatch(this.changelogTopics);
      this.current = inFlight;
      task.punctuateWallClock();
      if (inFlight.isEmpty()) continue;
      try {
        await this.commit(inFlight, task.streamTime(), {
          heartbeat: async () => undefined,
          isRunning: () => this.state === 'running',
          isStale: () => !this.tasks.has(task.id),
          hold: () => undefined,
        });
      } catch (error) {
        inFlight.discard();
        task.close();
        this.tasks.delete(task.id);
        if (this.assigned.has(task.id)) this.pendingTasks.add(task.id);
        if (isFatalCommitError(error)) throw error;
        this.log.error(
          { err: error, task: task.id },
          'wall-clock punctuation could not be committed; task will be restored',
        );
      }
    }
  }
}

/**
 * Errors a replay cannot fix: fenced (another instance owns the transactional id) or a record the
 * broker refuses as too large (the replay would produce it again).
 */
function isFatalCommitError(error: unknown): boolean {
  return isFencingError(error) || error instanceof ProducedRecordTooLargeError;
}
