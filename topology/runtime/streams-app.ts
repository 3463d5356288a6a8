import { Kafka, logLevel, type Admin, type Consumer, type EachBatchPayload, type Producer } from 'kafkajs';
import type { Logger } from '../../common/logger';
import { describeTopology } from '../describe';
import { TopologyMetrics } from '../metrics';
import { StreamTask } from '../processor/stream-task';
import type { Topology } from '../topology';
import { highWatermarks, prepareBoundedRun, type BoundTracker } from './bounds';
import { AtLeastOnceCommitter, TransactionalCommitter, type Committer } from './committer';
import { Checkpoint, type CheckpointRange, type SealedCheckpoint } from './checkpoint';
import {
  isFencingError,
  isRebalanceError,
  ProducedRecordTooLargeError,
  TransactionTimedOutError,
} from './kafka-errors';
import { internalSourceTopics, planAndCreateTopics } from './internal-topics';
import { toRawRecord } from './kafka-records';
import { resolveOptions, type ResolvedOptions, type StreamsAppOptions } from './options';
import type { PartitionPlan } from './partition-plan';
import { murmur2Partitioner } from '../processor/partitioning';
import { ChangelogRestorer } from './restorer';
import { SerialQueue } from './serial-queue';
import { committedPositions, encodeStreamTime } from './stream-time';
import { flushSinks } from './sink-flush';
import type { OffsetToCommit } from './committer';
import { kafkajsLogCreator } from './kafkajs-log';
import { StaleCheckpointError, StreamsRuntimeError } from '../errors';
import { taskAssignor } from './task-assignor';

type State = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

/**
 * Runs a topology on Kafka: one consumer (group = application id) and one producer per instance,
 * one task per (sub-topology, partition), stores restored from changelogs before a task runs.
 *
 * Fetched records are processed record by record (offset order per partition) into one Checkpoint
 * shared by all tasks. The checkpoint is committed once per commit interval (commitIntervalMs, by a
 * fetch or by the commit timer), at once when it is small and its fetch caught up with its partition
 * (a quiet input), or when it reaches the in-flight bounds: every
 * sink written is flushed once for all the partitions it covers, then the outputs, the last change
 * of every store key and all partitions' offsets go in one transaction (exactly_once), or are
 * produced then committed (at_least_once). A failed commit, or a rebalance while a checkpoint is
 * open, forgets the checkpoint: the tasks it changed are restored from their changelogs and the
 * records are fetched again from the committed offsets. See topology/README.md for the guarantees.
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
  private commitTimer: NodeJS.Timeout | undefined;
  private state: State = 'created';
  /** A bounded run's positions and ends (options.bounds); undefined for a live application. */
  private bounds: BoundTracker | undefined;
  private internalSourceTopics: string[] = [];
  private endReached = false;
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
  /** The latest fetch's heartbeat, with which a commit keeps the membership alive while it waits. */
  private heartbeat: () => Promise<void> = async () => undefined;
  /** Group joins so far: a checkpoint begun in an earlier generation must not be committed. */
  private generation = 0;
  /** When the last join ended, and whether a rebalance has begun since (kafkajs's REBALANCING). */
  private joinedAt = 0;
  private rebalancing = false;
  /** Committed offsets read when a task was (re)created, checked against its first fetch. */
  private readonly committedAtStart = new Map<string, bigint>();
  /** When the group last answered a heartbeat (or a join): the instance was a member then. */
  private lastHeartbeatAt = 0;
  private failure: ((error: unknown) => void) | undefined;
  /** Lag per source partition at its last fetch, and when a commit (or the lag) last moved. */
  private readonly lag = new Map<string, number>();
  private lastProgressAt = Date.now();
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

  /**
   * Why this instance is not doing its job, for readiness: not running, no partition assigned, or no
   * commit for `stallTimeoutMs` while its input has lag (stuck replaying a batch it cannot commit, a
   * sink down, an event loop blocked); undefined when it is fine.
   */
  problem(): string | undefined {
    if (this.state !== 'running')
      return `the streams application ${this.options.applicationId} is ${this.state}`;
    if (this.assigned.size === 0) return 'the streams consumer group has no partitions assigned';
    const stalledMs = this.stalledMs();
    if (stalledMs >= this.options.stallTimeoutMs) {
      return `no commit for ${Math.round(stalledMs / 1_000)} s while the input has lag`;
    }
    return undefined;
  }

  /** How long the input has had lag without a commit (0 when it has none). */
  private stalledMs(): number {
    let lag = 0;
    for (const n of this.lag.values()) lag += n;
    return lag === 0 ? 0 : Date.now() - this.lastProgressAt;
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
    const plan = await planAndCreateTopics(admin, this.topology, this.options);
    this.plan = plan;
    if (this.options.bounds !== undefined) {
      this.internalSourceTopics = internalSourceTopics(this.topology, applicationId);
      const internal = new Set(this.internalSourceTopics);
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
        ? new TransactionalCommitter(
            () => this.createProducer(),
            applicationId,
            maxProduceBytesPerPartition,
            this.options.transactionTimeoutMs,
          )
        : new AtLeastOnceCommitter(() => this.createProducer(), consumer, maxProduceBytesPerPartition);
    this.committer = committer;
    // For a transactional producer, connecting (InitProducerId) fences a previous incarnation with
    // the same transactional id and aborts its open transaction.
    await committer.connect();
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) =>
      this.onAssignment(payload.memberId, payload.memberAssignment),
    );
    consumer.on(consumer.events.HEARTBEAT, () => {
      this.lastHeartbeatAt = Date.now();
    });
    consumer.on(consumer.events.REBALANCING, () => {
      this.rebalancing = true;
    });
    // A fetch holding only transaction markers (or aborted records) never reaches eachBatch, yet
    // moves the position: a bounded run must see it to reach the end of a transactional topic.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.batchSize === 0)
        this.bounds?.advance(payload.topic, payload.partition, BigInt(payload.lastOffset) + 1n);
      // Every fetch, markers-only ones included: a transaction's commit marker fetched on its own
      // brings the lag to 0 (otherwise a transactional input would look stuck at a lag of 1).
      this.recordLag(payload.topic, payload.partition, Math.max(0, Number(payload.offsetLag)));
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
    // The checkpoint is committed once it is a commit interval old even when no fetch comes to do it
    // (a quiet input). One check at a time: a commit that cannot finish (a sink down) must not pile
    // up checks behind it.
    let commitCheckQueued = false;
    this.commitTimer = setInterval(
      () => {
        if (commitCheckQueued || this.checkpoint.age() < this.options.commitIntervalMs) return;
        commitCheckQueued = true;
        void this.serial
          .run(async () => {
            if (this.state === 'running' && this.checkpoint.age() >= this.options.commitIntervalMs) {
              await this.commitCheckpoint();
            }
          })
          .catch((error: unknown) => this.fail(error))
          .finally(() => {
            commitCheckQueued = false;
          });
      },
      Math.max(10, Math.min(this.options.commitIntervalMs, this.options.wallClockTickMs) / 2),
    );
    this.wallClockTimer = setInterval(() => {
      // Not in the serial queue: a commit that cannot finish (a sink down) holds the queue.
      this.metrics.stalledSeconds.set({ application: this.options.applicationId }, this.stalledMs() / 1_000);
      void this.serial
        .run(async () => {
          this.punctuateWallClock();
          await this.checkEnd();
        })
        .catch((error: unknown) => this.fail(error));
    }, this.options.wallClockTickMs);
    this.state = 'running';
  }

  /**
   * Stops fetching, commits what was processed, leaves the group and disconnects. Idempotent. The
   * checkpoint is committed before the consumer leaves the group, so no other member can be given
   * its partitions and process the same records meanwhile.
   */
  async stop(): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped') return this.done.catch(() => undefined);
    const wasRunning = this.state === 'running';
    this.state = 'stopping';
    this.log.info('stopping: committing what was processed, leaving the group');
    clearInterval(this.wallClockTimer);
    clearInterval(this.commitTimer);
    if (wasRunning) {
      await this.serial
        .run(() => this.commitCheckpoint({ wait: true }))
        .catch((error: unknown) => this.log.error({ err: error }, 'the last commit failed'));
    }
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
        createPartitioner: murmur2Partitioner,
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
      createPartitioner: murmur2Partitioner,
    });
  }

  private fail(error: unknown): void {
    this.log.fatal({ err: error }, 'streams application failed');
    this.failure?.(error);
    void this.stop();
  }

  /**
   * GROUP_JOIN: after any rebalance kafkajs fetches again from the committed offsets, so an open
   * checkpoint is forgotten (its tasks are restored) rather than committed: its records will be
   * processed again, here or by the partition's new owner. Tasks we lost are dropped (their last
   * checkpoint was committed or forgotten), new ones queued for restoration. A new member id means
   * this instance was evicted from the group (e.g. a stall longer than the session timeout) and
   * missed generations in which others may have processed its partitions: every task is restored.
   */
  private onAssignment(memberId: string, assignment: Record<string, number[]>): void {
    this.generation += 1;
    this.lastHeartbeatAt = Date.now();
    this.joinedAt = this.lastHeartbeatAt;
    this.rebalancing = false;
    this.abandonCheckpoint('rebalance');
    // A checkpoint still being committed cannot commit in the new generation (checkMembership): the
    // state its tasks hold may never be committed either.
    for (const task of this.committingCheckpoint?.tasks ?? []) this.dropTask(task);
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

  /**
   * Forgets the open checkpoint: sinks drop its writes and every task it changed is dropped, to be
   * restored from its changelog before it processes again (its stores hold uncommitted changes).
   */
  private abandonCheckpoint(reason: string): void {
    const checkpoint = this.checkpoint;
    this.checkpoint = new Checkpoint(this.generation);
    if (checkpoint.isEmpty() && checkpoint.tasks.size === 0) return;
    checkpoint.discard();
    for (const task of checkpoint.tasks) this.dropTask(task);
    this.log.warn(
      { reason, tasks: [...checkpoint.tasks].map((t) => t.id), ranges: checkpoint.ranges().length },
      'checkpoint abandoned: its tasks will be restored and its records processed again',
    );
  }

  /**
   * Closes a task whose stores hold changes that will not be committed; an assigned task is queued
   * to be restored from its changelog. (A task replaced since, after a rebalance, stays.)
   */
  private dropTask(task: StreamTask): void {
    task.close();
    if (this.tasks.get(task.id) !== task) return;
    this.tasks.delete(task.id);
    if (this.assigned.has(task.id)) this.pendingTasks.add(task.id);
  }

  /** Creates and restores every assigned task that is not ready yet. */
  private async ensureTasks(keepAlive: () => Promise<void>): Promise<void> {
    if (this.pendingTasks.size === 0) return;
    // A restore reads committed changelogs: a commit in flight may be about to add to them.
    if (this.committing !== undefined) await this.committing;
    const created: StreamTask[] = [];
    for (const id of [...this.pendingTasks]) {
      const at = id.lastIndexOf('_');
      created.push(this.createTask(Number(id.slice(0, at)), Number(id.slice(at + 1))));
    }
    await (this.restorer as ChangelogRestorer).restore(created, keepAlive);
    // kafkajs fetches the committed offsets at the join without require_stable, so a previous
    // owner's last transaction may not be visible in them yet (its offsets become visible once the
    // coordinator has written its markers, moments after its commit): read them again once the
    // join is STABLE_OFFSETS_SETTLE_MS old, and let onBatch skip what they show as done.
    while (Date.now() - this.joinedAt < STABLE_OFFSETS_SETTLE_MS) {
      await keepAlive();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const committed = await committedPositions(this.admin as Admin, this.options.applicationId, [
      ...new Set(created.flatMap((t) => t.sourceTopics())),
    ]);
    for (const task of created) {
      for (const topic of task.sourceTopics()) {
        const position = committed.get(`${topic}|${task.partition}`);
        task.restoreStreamTime(position?.streamTime ?? Number.NEGATIVE_INFINITY);
        if (position !== undefined && position.offset >= 0n) {
          this.committedAtStart.set(`${topic}|${task.partition}`, position.offset);
        }
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
      repartitionPartitions: (this.plan as PartitionPlan).repartitionPartitions,
      clock: Date.now,
      metrics: this.metrics,
      collector: {
        send: (record) => this.checkpoint.send(record),
        changelog: (change) => this.checkpoint.changelog(change),
        sinkWrite: (sink, record, source) => this.checkpoint.sinkWrite(sink, record, source),
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
  }: EachBatchPayload): Promise<void> {
    if (!isRunning() || isStale() || this.state !== 'running') return;
    const plan = this.plan as PartitionPlan;
    const taskId = `${plan.subTopologyOfTopic.get(batch.topic)}_${batch.partition}`;
    if (!this.tasks.has(taskId) && !this.pendingTasks.has(taskId)) this.pendingTasks.add(taskId);
    await this.ensureTasks(heartbeat);
    const task = this.tasks.get(taskId) as StreamTask;
    const { topic, partition } = batch;
    const committedAtStart = this.committedAtStart.get(`${topic}|${partition}`);
    this.committedAtStart.delete(`${topic}|${partition}`);
    const firstOffset = batch.messages[0]?.offset;
    if (
      committedAtStart !== undefined &&
      firstOffset !== undefined &&
      BigInt(firstOffset) < committedAtStart
    ) {
      // Fetched from a committed offset the previous owner had already moved (see ensureTasks).
      this.log.info(
        { topic, partition, fetchedFrom: firstOffset, committed: String(committedAtStart) },
        'skipping records the previous owner committed after the join',
      );
      this.consumer?.seek({ topic, partition, offset: String(committedAtStart) });
      return;
    }
    const { applicationId, maxInFlightRecords, maxInFlightBytes } = this.options;
    // The lag before this fetch is processed: a fetch that cannot be committed shows as a stall.
    this.recordLag(topic, partition, Math.max(0, Number(batch.offsetLagLow()) + 1));
    // A bounded run processes nothing at or past a partition's end, and stops fetching it there.
    const end = this.bounds?.endOf(topic, partition);
    const messages =
      end === undefined ? batch.messages : batch.messages.filter((m) => BigInt(m.offset) < end);
    const atEnd = messages.length < batch.messages.length;
    this.heartbeat = heartbeat;
    const started = process.hrtime.bigint();
    let processed = 0;
    let counted = 0;
    const count = (): void => {
      if (processed === counted) return;
      this.metrics.recordsConsumed.inc({ application: applicationId, topic }, processed - counted);
      this.metrics.recordsProcessed.inc({ application: applicationId, topic }, processed - counted);
      counted = processed;
    };
    for (const message of messages) {
      // Stopping or revoked: what was processed stays in the checkpoint (stop() commits it, a
      // rebalance forgets it); the rest is fetched again.
      if (!isRunning() || isStale() || this.state !== 'running' || this.commitFailed) break;
      const raw = toRawRecord(topic, partition, message);
      task.process(raw);
      this.checkpoint.consumed(task, raw);
      resolveOffset(message.offset);
      processed += 1;
      // The open checkpoint and the one being committed count together against the bounds.
      const committing = this.committingCheckpoint;
      if (
        this.checkpoint.inFlightRecords + (committing?.inFlightRecords ?? 0) >= maxInFlightRecords ||
        this.checkpoint.inFlightBytes + (committing?.inFlightBytes ?? 0) >= maxInFlightBytes
      ) {
        // Backpressure: nothing more is processed or fetched until what is held is durable.
        count();
        if (!(await this.commitCheckpoint({ wait: true }))) return;
      }
    }
    count();
    if (processed > 0) {
      this.metrics.processingLatency.observe(
        { application: applicationId },
        Number(process.hrtime.bigint() - started) / 1e9 / processed,
      );
    }
    if (processed < messages.length) return;
    // The whole fetch was processed: the position moves past its trailing transaction markers too
    // (lastOffset() counts them), which a bounded run must see to reach the end of its range.
    if (!atEnd && processed > 0) this.checkpoint.skipTo(topic, partition, BigInt(batch.lastOffset()) + 1n);
    // Once per commit interval, however many fetches of however many partitions it holds (the
    // commit timer covers an input that went quiet); a bounded run's partition at its end at once.
    // A fetch that caught up with its partition commits a small checkpoint at once: on a quiet input
    // a record then waits for no timer, and there is nothing to amortize the commit over; a large
    // one (under load, tasks feeding each other through repartition topics look caught up at every
    // fetch) waits for the interval. A lag of 1 counts as caught up: on a transactional input
    // (repartition topics, ingest) the offset left is usually the commit marker, which kafkajs
    // fetches without calling eachBatch.
    const { commitIntervalMs } = this.options;
    const caughtUp =
      Number(batch.offsetLag()) <= 1 && this.checkpoint.inFlightRecords <= EAGER_COMMIT_MAX_RECORDS;
    if (atEnd || caughtUp || this.checkpoint.age() >= commitIntervalMs) {
      if (!(await this.commitCheckpoint())) return;
    }
    if (atEnd) this.consumer?.pause([{ topic, partitions: [partition] }]);
  }

  /**
   * Starts making the open checkpoint durable and opens the next one, so that processing goes on
   * while the sinks flush and the transaction commits (Kafka Streams' tasks keep processing between
   * commits too). Commits go one at a time, in order: a previous one still running is awaited first,
   * and a checkpoint whose predecessor failed is never committed (its state built on what was lost).
   * `wait` also awaits this commit (a stop). Returns false when a commit failed: the caller stops
   * processing its fetch, and recover() (queued) abandons everything since the last durable commit.
   */
  private async commitCheckpoint({ wait = false }: { wait?: boolean } = {}): Promise<boolean> {
    if (this.committing !== undefined && !(await this.committing)) return false;
    if (this.commitFailed) return false;
    const checkpoint = this.checkpoint;
    if (checkpoint.isEmpty()) return true;
    this.checkpoint = new Checkpoint(this.generation);
    const commit = this.makeDurable(checkpoint, checkpoint.seal());
    this.committing = commit;
    this.committingCheckpoint = checkpoint;
    void commit.then(() => {
      if (this.committing !== commit) return;
      this.committing = undefined;
      this.committingCheckpoint = undefined;
    });
    return wait ? commit : true;
  }

  /**
   * Every sink the checkpoint wrote is flushed once, for all its ranges (retried with backoff while
   * the application runs in the same generation; the checkpoint's partitions are paused meanwhile),
   * then its records and every partition's offset are committed together (committer.ts). On failure
   * the recovery is queued behind the fetch being processed, and false returned.
   */
  private async makeDurable(checkpoint: Checkpoint, sealed: SealedCheckpoint): Promise<boolean> {
    const control: FetchControl = {
      heartbeat: () => this.heartbeat(),
      shouldContinue: () => this.state === 'running' && checkpoint.generation === this.generation,
    };
    const { applicationId } = this.options;
    const started = process.hrtime.bigint();
    const { ranges, records } = sealed;
    this.metrics.inFlightRecords.set({ application: applicationId }, checkpoint.inFlightRecords);
    const paused: { topic: string; partitions: number[] }[] = [];
    try {
      await flushSinks(checkpoint.sinks, ranges, {
        initialBackoffMs: this.options.sinkRetryInitialMs,
        maxBackoffMs: this.options.sinkRetryMaxMs,
        keepAlive: control.heartbeat,
        // A stop gives a failing sink no more retries: what is not committed is processed again
        // after the restart, and a stop must not wait for a sink that may never come back.
        shouldContinue: control.shouldContinue,
        onRetry: (sink, attempt, error) => {
          if (paused.length === 0) {
            for (const r of ranges) paused.push({ topic: r.topic, partitions: [r.partition] });
            this.consumer?.pause(paused);
            this.metrics.pausedPartitions.set({ application: applicationId }, paused.length);
          }
          this.log.warn(
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
      await (this.committer as Committer).commit(records, offsets, () =>
        this.checkMembership(checkpoint, control),
      );
      this.countProduced(records);
    } catch (error) {
      this.commitFailed = true;
      void this.serial.run(() => this.recover(checkpoint, error)).catch((e: unknown) => this.fail(e));
      return false;
    } finally {
      if (paused.length > 0) {
        this.consumer?.resume(paused);
        this.metrics.pausedPartitions.set({ application: applicationId }, 0);
      }
      this.metrics.inFlightRecords.set({ application: applicationId }, 0);
    }
    this.metrics.commitLatency.observe(
      { application: applicationId, guarantee: this.options.processingGuarantee },
      Number(process.hrtime.bigint() - started) / 1e9,
    );
    if (this.bounds !== undefined) {
      for (const r of ranges) this.bounds.advance(r.topic, r.partition, r.nextOffset);
      this.options.bounds?.onProgress?.(this.bounds.progress());
    }
    for (const task of checkpoint.tasks) {
      for (const [name, store] of task.stores) {
        this.metrics.storeEntries.set(
          { application: applicationId, store: name, task: task.id },
          store.size(),
        );
      }
    }
    if (ranges.length > 0) this.lastProgressAt = Date.now();
    this.log.debug({ ranges: ranges.length }, 'committed');
    return true;
  }

  /**
   * Throws unless the instance is still the group member that fetched the checkpoint's records: a
   * heartbeat (kafkajs sends it only once per heartbeat interval, and a failed one does not stop the
   * next calls from passing), no join since the checkpoint began, and a heartbeat answered within
   * the session timeout (a longer silence, e.g. the process was stopped, may have been an eviction).
   */
  private async checkMembership(checkpoint: Checkpoint, control: FetchControl): Promise<void> {
    await control.heartbeat();
    if (checkpoint.generation !== this.generation || this.rebalancing) {
      throw new StaleCheckpointError('the group rebalanced since the checkpoint began');
    }
    const silentMs = Date.now() - this.lastHeartbeatAt;
    if (silentMs >= this.options.sessionTimeoutMs) {
      throw new StaleCheckpointError(
        `no heartbeat answered for ${silentMs} ms (session timeout ${this.options.sessionTimeoutMs} ms): this instance may have been evicted`,
      );
    }
  }

  private recordLag(topic: string, partition: number, lag: number): void {
    const id = `${topic}|${partition}`;
    // From no lag to some, the stall clock starts now, not at the last commit (which may be old).
    if (lag > 0 && !this.lag.get(id) && this.stalledMs() === 0) this.lastProgressAt = Date.now();
    this.lag.set(id, lag);
    this.metrics.consumerLag.set(
      { application: this.options.applicationId, topic, partition: String(partition) },
      lag,
    );
  }

  private countProduced(records: readonly { topic: string }[]): void {
    const counts = new Map<string, number>();
    for (const { topic } of records) counts.set(topic, (counts.get(topic) ?? 0) + 1);
    for (const [topic, n] of counts) {
      this.metrics.recordsProduced.inc({ application: this.options.applicationId, topic }, n);
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
    // A rebalance since the checkpoint began already forgot what was built on it (onAssignment).
    const rebalanced = checkpoint.generation !== this.generation;
    const since = this.checkpoint.ranges();
    if (!rebalanced) this.abandonCheckpoint('commit failed');
    checkpoint.discard();
    for (const task of checkpoint.tasks) this.dropTask(task);
    this.commitFailed = false;
    if (isFatalCommitError(error)) {
      this.fail(error);
      return;
    }
    const ranges = checkpoint.ranges();
    this.log.error(
      { err: error, tasks: [...checkpoint.tasks].map((t) => t.id), ranges: ranges.length },
      'commit failed: checkpoint abandoned, tasks will be restored and the records processed again',
    );
    // After a rebalance the consumer restarts from the committed offsets by itself.
    if (isRebalanceError(error) || this.state !== 'running' || rebalanced) return;
    const firstOffsets = new Map<string, CheckpointRange>();
    for (const r of [...since, ...ranges]) firstOffsets.set(`${r.topic}|${r.partition}`, r);
    for (const r of firstOffsets.values()) {
      this.consumer?.seek({ topic: r.topic, partition: r.partition, offset: r.firstOffset });
    }
    await new Promise((resolve) => setTimeout(resolve, this.options.sinkRetryInitialMs));
  }

  /** Fires due wall-clock punctuations of every task into the checkpoint (the commit timer commits it). */
  private punctuateWallClock(): void {
    if (this.state !== 'running') return;
    for (const task of [...this.tasks.values()]) {
      const before = this.checkpoint.inFlightRecords;
      task.punctuateWallClock();
      if (this.checkpoint.inFlightRecords !== before) this.checkpoint.touched(task);
    }
  }
}

/**
 * How long after a join the committed offsets of new tasks are read (again): long enough for the
 * previous owner's last commit markers to be written (moments, normally), short enough not to matter.
 */
const STABLE_OFFSETS_SETTLE_MS = 1_000;

/**
 * A checkpoint holding at most this many outputs and sink writes is committed as soon as its fetch
 * caught up (see onBatch): a few records, as a quiet input brings, gain nothing from waiting.
 */
const EAGER_COMMIT_MAX_RECORDS = 200;

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
