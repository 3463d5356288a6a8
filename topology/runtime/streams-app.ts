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
import { resolveTopic, type Topology } from '../topology';
import { AtLeastOnceCommitter, TransactionalCommitter, type Committer } from './committer';
import { InFlightBatch } from './in-flight-batch';
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
  private producer: Producer | undefined;
  private consumer: Consumer | undefined;
  private committer: Committer | undefined;
  private restorer: ChangelogRestorer | undefined;
  private wallClockTimer: NodeJS.Timeout | undefined;
  private state: State = 'created';
  /** Where tasks' outputs go: the in-flight batch being processed. */
  private current = new InFlightBatch();
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
    this.restorer = new ChangelogRestorer(
      this.kafka,
      admin,
      applicationId,
      this.options.instanceId,
      this.log,
      this.metrics,
    );

    const producer =
      processingGuarantee === 'exactly_once'
        ? this.kafka.producer({
            transactionalId: `${applicationId}-${this.options.instanceId}`,
            idempotent: true,
            maxInFlightRequests: 1,
            transactionTimeout: this.options.transactionTimeoutMs,
            createPartitioner: Partitioners.DefaultPartitioner,
            // Right after a commit the broker still completes the transaction and answers the next
            // one's AddPartitionsToTxn with CONCURRENT_TRANSACTIONS; the Java client retries that
            // after 20 ms, kafkajs's default of 300 ms would stall every run.
            retry: { initialRetryTime: 20, maxRetryTime: 1_000, retries: 10 },
          })
        : this.kafka.producer({
            idempotent: true,
            maxInFlightRequests: 1,
            createPartitioner: Partitioners.DefaultPartitioner,
          });
    this.producer = producer;
    // For a transactional producer, connecting (InitProducerId) fences a previous incarnation with
    // the same transactional id and aborts its open transaction.
    await producer.connect();

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
    this.committer =
      processingGuarantee === 'exactly_once'
        ? new TransactionalCommitter(producer, applicationId)
        : new AtLeastOnceCommitter(producer, consumer);
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) =>
      this.onAssignment(payload.memberId, payload.memberAssignment),
    );
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
      void this.serial.run(() => this.punctuateWallClock()).catch((error: unknown) => this.fail(error));
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
    await this.producer?.disconnect();
    await this.admin?.disconnect();
    this.state = 'stopped';
    this.log.info('stopped');
    this.finish();
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
    const messages = batch.messages;
    let next = 0;
    while (next < messages.length && isRunning() && !isStale() && this.state === 'running') {
      const inFlight = new InFlightBatch();
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
      if (range) resolveOffset(range.lastOffset);
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
    await (this.committer as Committer).commit(inFlight.records, range, encodeStreamTime(streamTime));
    for (const record of inFlight.records) {
      this.metrics.recordsProduced.inc({ application: this.options.applicationId, topic: record.topic });
    }
    this.metrics.commitLatency.observe(
      { application: this.options.applicationId, guarantee: this.options.processingGuarantee },
      Number(process.hrtime.bigint() - started) / 1e9,
    );
    this.log.debug({ range, records: inFlight.records.length }, 'committed');
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
    if (isFencingError(error)) {
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
      const inFlight = new InFlightBatch();
      this.current = inFlight;
      task.punctuateWallClock();
      if (inFlight.records.length === 0 && inFlight.sinks.size === 0) continue;
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
        if (isFencingError(error)) throw error;
        this.log.error(
          { err: error, task: task.id },
          'wall-clock punctuation could not be committed; task will be restored',
        );
      }
    }
  }
}

function errorType(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'type' in error ? String(error.type) : undefined;
}

function isFencingError(error: unknown): boolean {
  const type = errorType(error);
  return (
    type === 'INVALID_PRODUCER_EPOCH' ||
    type === 'PRODUCER_FENCED' ||
    type === 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED'
  );
}

function isRebalanceError(error: unknown): boolean {
  const type = errorType(error);
  return (
    type === 'REBALANCE_IN_PROGRESS' ||
    type === 'NOT_COORDINATOR_FOR_GROUP' ||
    type === 'ILLEGAL_GENERATION' ||
    type === 'UNKNOWN_MEMBER_ID'
  );
}
