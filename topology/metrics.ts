import { Counter, Gauge, Histogram, type Metric, type Registry } from 'prom-client';

/**
 * A metric of the registry, created on first use: several applications in one process (the
 * pipeline and the archive) share each metric, told apart by their `application` label.
 */
function shared<T extends Metric>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

/**
 * Prometheus metrics of the streams runtime, registered on a Registry passed in (never the global
 * one) so tests do not clash. Names are prefixed with `stacklens_topology_` and labelled by
 * application id.
 */
export class TopologyMetrics {
  readonly recordsConsumed: Counter<'application' | 'topic'>;
  readonly recordsProcessed: Counter<'application' | 'topic'>;
  readonly recordsProduced: Counter<'application' | 'topic'>;
  readonly processingLatency: Histogram<'application'>;
  readonly consumerLag: Gauge<'application' | 'topic' | 'partition'>;
  readonly commitLatency: Histogram<'application' | 'guarantee'>;
  readonly storeEntries: Gauge<'application' | 'store' | 'task'>;
  readonly lateRecords: Counter<'application' | 'processor'>;
  readonly dlqRecords: Counter<'application' | 'error'>;
  readonly restorations: Counter<'application' | 'store'>;
  readonly restoredRecords: Counter<'application' | 'store'>;
  readonly pausedPartitions: Gauge<'application'>;
  readonly inFlightRecords: Gauge<'application'>;

  constructor(
    registry: Registry,
    readonly applicationId: string,
  ) {
    const registers = [registry];
    const p = 'stacklens_topology_';
    this.recordsConsumed = shared(
      registry,
      `${p}records_consumed_total`,
      () =>
        new Counter({
          name: `${p}records_consumed_total`,
          help: 'Records read from source topics',
          labelNames: ['application', 'topic'],
          registers,
        }),
    );
    this.recordsProcessed = shared(
      registry,
      `${p}records_processed_total`,
      () =>
        new Counter({
          name: `${p}records_processed_total`,
          help: 'Records that went through the pipeline without error',
          labelNames: ['application', 'topic'],
          registers,
        }),
    );
    this.recordsProduced = shared(
      registry,
      `${p}records_produced_total`,
      () =>
        new Counter({
          name: `${p}records_produced_total`,
          help: 'Records written to topics (outputs, repartition, changelog, late, DLQ), counted once durable',
          labelNames: ['application', 'topic'],
          registers,
        }),
    );
    this.processingLatency = shared(
      registry,
      `${p}processing_latency_seconds`,
      () =>
        new Histogram({
          name: `${p}processing_latency_seconds`,
          help: 'Time to push one record through its task pipeline',
          labelNames: ['application'],
          buckets: [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1],
          registers,
        }),
    );
    this.consumerLag = shared(
      registry,
      `${p}consumer_lag`,
      () =>
        new Gauge({
          name: `${p}consumer_lag`,
          help: 'High watermark minus next offset to process, per source partition',
          labelNames: ['application', 'topic', 'partition'],
          registers,
        }),
    );
    this.commitLatency = shared(
      registry,
      `${p}commit_latency_seconds`,
      () =>
        new Histogram({
          name: `${p}commit_latency_seconds`,
          help: 'Time to make a batch durable: sink flushes, produce and offset commit (or transaction)',
          labelNames: ['application', 'guarantee'],
          buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
          registers,
        }),
    );
    this.storeEntries = shared(
      registry,
      `${p}state_store_entries`,
      () =>
        new Gauge({
          name: `${p}state_store_entries`,
          help: 'Entries held in memory by a state store of a task',
          labelNames: ['application', 'store', 'task'],
          registers,
        }),
    );
    this.lateRecords = shared(
      registry,
      `${p}late_records_total`,
      () =>
        new Counter({
          name: `${p}late_records_total`,
          help: 'Records that arrived after their window closed, sent to the late-records topic',
          labelNames: ['application', 'processor'],
          registers,
        }),
    );
    this.dlqRecords = shared(
      registry,
      `${p}dlq_records_total`,
      () =>
        new Counter({
          name: `${p}dlq_records_total`,
          help: 'Records sent to the dead-letter queue, by error type',
          labelNames: ['application', 'error'],
          registers,
        }),
    );
    this.restorations = shared(
      registry,
      `${p}restorations_total`,
      () =>
        new Counter({
          name: `${p}restorations_total`,
          help: 'State store restorations from changelog',
          labelNames: ['application', 'store'],
          registers,
        }),
    );
    this.restoredRecords = shared(
      registry,
      `${p}restored_records_total`,
      () =>
        new Counter({
          name: `${p}restored_records_total`,
          help: 'Changelog records applied while restoring',
          labelNames: ['application', 'store'],
          registers,
        }),
    );
    this.pausedPartitions = shared(
      registry,
      `${p}paused_partitions`,
      () =>
        new Gauge({
          name: `${p}paused_partitions`,
          help: 'Source partitions paused by backpressure',
          labelNames: ['application'],
          registers,
        }),
    );
    this.inFlightRecords = shared(
      registry,
      `${p}in_flight_records`,
      () =>
        new Gauge({
          name: `${p}in_flight_records`,
          help: 'Output records and sink writes processed but not yet durable',
          labelNames: ['application'],
          registers,
        }),
    );
  }
}
