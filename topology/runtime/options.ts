import type { Registry } from 'prom-client';
import type { Logger } from '../../common/logger';
import { DEFAULT_EXCEPTION_POLICIES, type ExceptionPolicies } from '../processor/exception-policy';
import { StreamsRuntimeError } from '../errors';
import type { BoundedRunOptions } from './bounds';

export type ProcessingGuarantee = 'exactly_once' | 'at_least_once';

/** Knobs of a streams application; the config module maps environment variables onto them. */
export interface StreamsAppOptions {
  /** Consumer group id, prefix of internal topics and of the transactional id. */
  readonly applicationId: string;
  readonly brokers: readonly string[];
  /**
   * Identifies this instance among those sharing the application id; part of the transactional id
   * (`${applicationId}-${instanceId}`). Keep it stable across restarts of the same instance (e.g.
   * the pod name): a restarted instance then fences its predecessor and aborts its open transaction
   * at once instead of after the transaction timeout. Two live instances must never share it.
   */
  readonly instanceId: string;
  /** Default exactly_once. */
  readonly processingGuarantee?: ProcessingGuarantee;
  /**
   * How often (ms) what was processed is made durable: sinks flushed, outputs and offsets committed
   * (Kafka Streams' commit.interval.ms, with its defaults: 100 under exactly_once, 30 000 under
   * at_least_once). A small checkpoint whose fetch caught up with its partition commits at once, so
   * a record on a quiet input does not wait for the interval.
   */
  readonly commitIntervalMs?: number;
  /**
   * Bounds of work processed but not yet durable (outputs, changelog keys and sink writes held, over
   * all tasks). When reached, fetching stops until the checkpoint is committed. Defaults 20 000 / 16 MiB.
   */
  readonly maxInFlightRecords?: number;
  readonly maxInFlightBytes?: number;
  /**
   * Upper bound (estimated bytes) of the records one produce request carries to one partition.
   * A run's outputs are produced in as many sends as needed (one transaction under exactly_once),
   * so no record batch reaches the broker's max.message.bytes (1 MiB by default). Default 512 KiB;
   * keep it well under the smallest max.message.bytes of the topics written. A single record over
   * it is sent alone; if the broker refuses it, the application fails (ProducedRecordTooLargeError).
   */
  readonly maxProduceBytesPerPartition?: number;
  /**
   * Kafka Streams' max.task.idle.ms (default 0), for tasks with several input partitions (a join of
   * two topics): such a task processes its buffered records lowest timestamp first across its
   * partitions, and waits while one of them is empty and may still have records: while its lag is
   * unknown or positive, and then, once its lag is 0, for this many ms more. -1: never waits.
   * See partition-group.ts.
   */
  readonly maxTaskIdleMs?: number;
  /**
   * Records buffered per input partition (fetched, not processed yet) beyond which fetching the
   * partition pauses until its task has processed it back to this many (Kafka Streams'
   * buffered.records.per.partition). Default 1 000; a fetch adds at most maxFetchBytesPerPartition.
   */
  readonly maxBufferedRecordsPerPartition?: number;
  /** Upper bound of one fetch per partition (kafkajs maxBytesPerPartition). Default 1 MiB. */
  readonly maxFetchBytesPerPartition?: number;
  /** How long an idle fetch waits on the broker; bounds shutdown and idle latency. Default 500 ms. */
  readonly fetchMaxWaitMs?: number;
  /**
   * Bytes a fetch waits for (up to fetchMaxWaitMs) before the broker answers (kafkajs minBytes).
   * Default 1. Raised together with fetchMaxWaitMs, it makes runs, and so commits and sink flushes,
   * happen every fetchMaxWaitMs or every fetchMinBytes, whichever comes first: how the archive
   * writes one object per partition every ARCHIVE_FLUSH_SECONDS.
   */
  readonly fetchMinBytes?: number;
  /** Default `${applicationId}-late`. */
  readonly lateTopic?: string;
  /** Default `${applicationId}-dlq`. */
  readonly dlqTopic?: string;
  /**
   * What becomes of a record that cannot be deserialized or processed (see
   * ../processor/exception-policy.ts). Default: both go to the DLQ and processing goes on.
   */
  readonly exceptionPolicies?: ExceptionPolicies;
  /**
   * Transaction timeout (exactly_once). Default 10 000 ms, Kafka Streams' for exactly-once. Keep
   * sessionTimeoutMs above it plus the broker's transaction.abort.timed.out.transaction.cleanup.interval.ms
   * (10 s by default): that is what makes a stalled instance's late commit fail (committer.ts).
   */
  readonly transactionTimeoutMs?: number;
  readonly sessionTimeoutMs?: number;
  readonly heartbeatIntervalMs?: number;
  /**
   * No commit for this long while the input has lag makes `problem()` report the application as
   * stuck (readiness). Default 60 000 ms.
   */
  readonly stallTimeoutMs?: number;
  /** How often wall-clock punctuation is checked. Default 1 000 ms. */
  readonly wallClockTickMs?: number;
  /** Backoff of a failing sink flush: doubles from initial to max. Defaults 100 ms / 10 000 ms. */
  readonly sinkRetryInitialMs?: number;
  readonly sinkRetryMaxMs?: number;
  /**
   * At least this long (ms) between two purges of the repartition records the application has
   * committed past (Kafka Streams' repartition.purge.interval.ms, and its default: 30 000). See
   * repartition-purger.ts.
   */
  readonly repartitionPurgeIntervalMs?: number;
  /** Replication factor of the topics the application creates. Default 1 (single broker). */
  readonly replicationFactor?: number;
  /**
   * Makes the application a bounded run (a replay): a fixed offset range of its external source
   * topics, after which it stops by itself (see ./bounds.ts). Unset: an unbounded, live application.
   */
  readonly bounds?: BoundedRunOptions;
  /**
   * Where key-value and window stores keep their state between runs (LMDB, one directory per
   * application, instance, task and store; see state/lmdb-key-value-store.ts, lmdb-window-store.ts):
   * a restart restores only the changelog after the offset committed with the data. Unset: in
   * memory, restored from the whole changelog at every start, bounded by each store's maxEntries.
   */
  readonly stateDir?: string;
  /** Bytes of values a persistent store instance keeps deserialized in memory. Default 16 MiB. */
  readonly stateCacheBytes?: number;
  /**
   * How long the state directory of a task this instance no longer owns is kept (a task that comes
   * back meanwhile restores from its checkpoint) before it is deleted; Kafka Streams'
   * `state.cleanup.delay.ms`. Default 600 000 (10 minutes).
   */
  readonly stateCleanupDelayMs?: number;
  readonly logger: Logger;
  /** Registry for the runtime's metrics; never the global one. */
  readonly registry: Registry;
}

export type ResolvedOptions = Required<Omit<StreamsAppOptions, 'bounds' | 'stateDir'>> &
  Pick<StreamsAppOptions, 'bounds' | 'stateDir'>;

export function resolveOptions(options: StreamsAppOptions): ResolvedOptions {
  const guarantee = options.processingGuarantee ?? 'exactly_once';
  const resolved: ResolvedOptions = {
    processingGuarantee: guarantee,
    commitIntervalMs: guarantee === 'exactly_once' ? 100 : 30_000,
    maxInFlightRecords: 20_000,
    maxInFlightBytes: 16 * 1024 * 1024,
    maxTaskIdleMs: 0,
    maxBufferedRecordsPerPartition: 1_000,
    maxFetchBytesPerPartition: 1024 * 1024,
    maxProduceBytesPerPartition: 512 * 1024,
    fetchMaxWaitMs: 500,
    fetchMinBytes: 1,
    lateTopic: `${options.applicationId}-late`,
    dlqTopic: `${options.applicationId}-dlq`,
    exceptionPolicies: DEFAULT_EXCEPTION_POLICIES,
    transactionTimeoutMs: 10_000,
    sessionTimeoutMs: 30_000,
    heartbeatIntervalMs: 3_000,
    wallClockTickMs: 1_000,
    stallTimeoutMs: 60_000,
    sinkRetryInitialMs: 100,
    sinkRetryMaxMs: 10_000,
    repartitionPurgeIntervalMs: 30_000,
    replicationFactor: 1,
    stateCacheBytes: 16 * 1024 * 1024,
    stateCleanupDelayMs: 600_000,
    // An option given as undefined keeps its default.
    ...(Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as StreamsAppOptions),
  };
  // The broker answers a fetch once fetchMinBytes are available, counting at most
  // maxFetchBytesPerPartition from each partition: above it, a fetch of one busy partition can never
  // be answered early and every fetch waits fetchMaxWaitMs (measured: the archive, at 4 MiB against
  // 1 MiB, read a one-partition topic at 8 messages per 2 s flush).
  if (resolved.fetchMinBytes > resolved.maxFetchBytesPerPartition) {
    throw new StreamsRuntimeError(
      `fetchMinBytes (${resolved.fetchMinBytes}) is above maxFetchBytesPerPartition ` +
        `(${resolved.maxFetchBytesPerPartition}): a fetch of a single partition could never reach it`,
    );
  }
  return resolved;
}
