import { Kafka, logLevel, type Admin, type Consumer, type Producer } from 'kafkajs';
import type { Logger } from '../../common/logger';
import { describeTopology } from '../describe';
import { TopologyMetrics } from '../metrics';
import type { Topology } from '../topology';
import { prepareBoundedRun } from './bounds';
import { AtLeastOnceCommitter, TransactionalCommitter, type Committer } from './committer';
import { internalSourceTopics, planAndCreateTopics } from './internal-topics';
import { resolveOptions, type ResolvedOptions, type StreamsAppOptions } from './options';
import { murmur2Partitioner } from '../processor/partitioning';
import { RepartitionPurger } from './repartition-purger';
import { ChangelogRestorer } from './restorer';
import { StreamThread } from './stream-thread';
import { withOffsetLookupRetries } from './start-retrying';
import { kafkajsLogCreator } from './kafkajs-log';
import { StreamsRuntimeError } from '../errors';
import { taskAssignor } from './task-assignor';

type State = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

/**
 * Runs a topology on Kafka (Kafka Streams' KafkaStreams): the lifecycle, the Kafka clients (one
 * consumer, group = application id, and one producer per instance) and the internal topics; the
 * processing is the stream thread's.
 *
 * The stream thread (stream-thread.ts) buffers fetched records per task (partition-group.ts) and
 * processes them record by record (offset order per partition, timestamp order across a task's
 * partitions, as max.task.idle.ms allows) into one Checkpoint shared by all tasks (task-manager.ts: one task per (sub-topology,
 * partition), stores restored from changelogs before a task runs). The checkpoint is committed once
 * per commit interval (commitIntervalMs, by a fetch or by the commit timer), at once when it is small
 * and its fetch caught up with its partition (a quiet input), or when it reaches the in-flight bounds
 * (checkpoint-committer.ts): every sink written is flushed once for all the partitions it covers,
 * then the outputs, the last change of every store key and all partitions' offsets go in one
 * transaction (exactly_once), or are produced then committed (at_least_once). A failed commit, or a
 * rebalance while a checkpoint is open, forgets the checkpoint: the tasks it changed are restored
 * from their changelogs and the records are fetched again from the committed offsets. See
 * topology/README.md for the guarantees.
 */
export class StreamsApp {
  readonly metrics: TopologyMetrics;
  private readonly options: ResolvedOptions;
  private readonly log: Logger;
  private readonly kafka: Kafka;
  private admin: Admin | undefined;
  private consumer: Consumer | undefined;
  private committer: Committer | undefined;
  private thread: StreamThread | undefined;
  private purger: RepartitionPurger | undefined;
  private state: State = 'created';
  private failure: ((error: unknown) => void) | undefined;
  /** Settles when the application stops: resolves on stop(), rejects on a fatal error (e.g. fenced). */
  readonly done: Promise<void>;
  private finish!: () => void;
  private stopping: Promise<void> | undefined;
  /** The error the application failed with, if it did. */
  private fatal: unknown = undefined;

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
    if (this.assignedTaskCount() === 0) return 'the streams consumer group has no partitions assigned';
    const stalledMs = this.thread?.stalledMs() ?? 0;
    if (stalledMs >= this.options.stallTimeoutMs) {
      return `no commit for ${Math.round(stalledMs / 1_000)} s while the input has lag`;
    }
    return undefined;
  }

  /** How many tasks this instance has been assigned (0 before the first assignment). */
  assignedTaskCount(): number {
    return this.thread?.assignedTaskCount() ?? 0;
  }

  /** A bounded run reached the end of its range (it stops once its linger is over). */
  reachedEnd(): boolean {
    return this.thread?.reachedEnd() ?? false;
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
    const admin = withOffsetLookupRetries(this.kafka.admin());
    this.admin = admin;
    await admin.connect();
    const plan = await planAndCreateTopics(admin, this.topology, { ...this.options, log: this.log });
    const internal = internalSourceTopics(this.topology, applicationId);
    const internalSet = new Set(internal);
    const bounds =
      this.options.bounds === undefined
        ? undefined
        : await prepareBoundedRun(
            admin,
            applicationId,
            [...plan.subTopologyOfTopic.keys()].filter((t) => !internalSet.has(t)),
            internal,
            this.options.bounds,
          );
    if (bounds !== undefined) this.options.bounds?.onProgress?.(bounds.progress());
    const restorer = new ChangelogRestorer(
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
    const purger = new RepartitionPurger({
      admin,
      repartitionTopics: new Set(plan.repartitionPartitions.keys()),
      intervalMs: this.options.repartitionPurgeIntervalMs,
      log: this.log,
    });
    this.purger = purger;
    this.thread = new StreamThread({
      options: this.options,
      log: this.log,
      metrics: this.metrics,
      topology: this.topology,
      admin,
      consumer,
      committer,
      restorer,
      plan,
      bounds,
      internalSourceTopics: internal,
      isRunning: () => this.state === 'running',
      fail: (error) => this.fail(error),
      stop: () => this.stop(),
      onCommitted: (positions) => purger.committed(positions),
    });
    // For a transactional producer, connecting (InitProducerId) fences a previous incarnation with
    // the same transactional id and aborts its open transaction.
    await committer.connect();
    await this.thread.run();
    this.state = 'running';
  }

  /**
   * Stops fetching, commits what was processed, leaves the group and disconnects. Idempotent. The
   * checkpoint is committed before the consumer leaves the group, so no other member can be given
   * its partitions and process the same records meanwhile.
   */
  stop(): Promise<void> {
    // The one stop in progress, to every caller: after a fatal error `done` has already rejected, and
    // a caller's stop must still wait for the consumer to leave and the clients to disconnect.
    this.stopping ??= this.shutDown();
    return this.stopping;
  }

  private async shutDown(): Promise<void> {
    // After a fatal error nothing more is committed: the open checkpoint may hold part of what the
    // failing record produced (Kafka Streams aborts the transaction of a task that failed).
    const wasRunning = this.state === 'running' && this.fatal === undefined;
    this.state = 'stopping';
    this.log.info('stopping: committing what was processed, leaving the group');
    await this.thread?.shutdown({ commit: wasRunning });
    await this.consumer?.disconnect();
    await this.committer?.disconnect();
    await this.purger?.settled();
    await this.admin?.disconnect();
    this.state = 'stopped';
    this.log.info('stopped');
    this.finish();
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
    this.fatal ??= error;
    this.failure?.(error);
    this.stop().catch((err: unknown) => this.log.warn({ err }, 'stopping after the failure failed too'));
  }
}
