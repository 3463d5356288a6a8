import {
  Counter,
  Gauge,
  Histogram,
  type CounterConfiguration,
  type GaugeConfiguration,
  type HistogramConfiguration,
  type Registry,
} from 'prom-client';

// Each metric is created on first use and shared after that: several applications in one process
// (the pipeline and the archive) register the same metrics, told apart by their `application` label.
function counter<L extends string>(registry: Registry, config: CounterConfiguration<L>): Counter<L> {
  return (
    (registry.getSingleMetric(config.name) as Counter<L> | undefined) ??
    new Counter({ ...config, registers: [registry] })
  );
}

function gauge<L extends string>(registry: Registry, config: GaugeConfiguration<L>): Gauge<L> {
  return (
    (registry.getSingleMetric(config.name) as Gauge<L> | undefined) ??
    new Gauge({ ...config, registers: [registry] })
  );
}

function histogram<L extends string>(registry: Registry, config: HistogramConfiguration<L>): Histogram<L> {
  return (
    (registry.getSingleMetric(config.name) as Histogram<L> | undefined) ??
    new Histogram({ ...config, registers: [registry] })
  );
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
  readonly droppedRecords: Counter<'application' | 'error'>;
  readonly restorations: Counter<'application' | 'store'>;
  readonly restoredRecords: Counter<'application' | 'store'>;
  readonly pausedPartitions: Gauge<'application'>;
  readonly inFlightRecords: Gauge<'application'>;
  readonly stalledSeconds: Gauge<'application'>;
  readonly enforcedProcessing: Counter<'application' | 'task'>;

  constructor(
    registry: Registry,
    readonly applicationId: string,
  ) {
    const p = 'stacklens_topology_';
    this.recordsConsumed = counter(registry, {
      name: `${p}records_consumed_total`,
      help: 'Records read from source topics',
      labelNames: ['application', 'topic'],
    });
    this.recordsProcessed = counter(registry, {
      name: `${p}records_processed_total`,
      help: 'Records that went through the pipeline without error',
      labelNames: ['application', 'topic'],
    });
    this.recordsProduced = counter(registry, {
      name: `${p}records_produced_total`,
      help: 'Records written to topics (outputs, repartition, changelog, late, DLQ), counted once durable',
      labelNames: ['application', 'topic'],
    });
    this.processingLatency = histogram(registry, {
      name: `${p}processing_latency_seconds`,
      help: 'Time to push one record through its task pipeline (the average over each fetch)',
      labelNames: ['application'],
      buckets: [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1],
    });
    this.consumerLag = gauge(registry, {
      name: `${p}consumer_lag`,
      help: 'High watermark minus next offset to process, per source partition',
      labelNames: ['application', 'topic', 'partition'],
    });
    this.commitLatency = histogram(registry, {
      name: `${p}commit_latency_seconds`,
      help: 'Time to make a batch durable: sink flushes, produce and offset commit (or transaction)',
      labelNames: ['application', 'guarantee'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    });
    this.storeEntries = gauge(registry, {
      name: `${p}state_store_entries`,
      help: 'Entries held in memory by a state store of a task',
      labelNames: ['application', 'store', 'task'],
    });
    this.lateRecords = counter(registry, {
      name: `${p}late_records_total`,
      help: 'Records that arrived after their window closed, sent to the late-records topic',
      labelNames: ['application', 'processor'],
    });
    this.dlqRecords = counter(registry, {
      name: `${p}dlq_records_total`,
      help: 'Records sent to the dead-letter queue, by error type',
      labelNames: ['application', 'error'],
    });
    this.droppedRecords = counter(registry, {
      name: `${p}dropped_records_total`,
      help: 'Records that could not be deserialized or processed, dropped under the `continue` exception policy',
      labelNames: ['application', 'error'],
    });
    this.restorations = counter(registry, {
      name: `${p}restorations_total`,
      help: 'State store restorations from changelog',
      labelNames: ['application', 'store'],
    });
    this.restoredRecords = counter(registry, {
      name: `${p}restored_records_total`,
      help: 'Changelog records applied while restoring',
      labelNames: ['application', 'store'],
    });
    this.pausedPartitions = gauge(registry, {
      name: `${p}paused_partitions`,
      help: 'Source partitions paused by backpressure',
      labelNames: ['application'],
    });
    this.inFlightRecords = gauge(registry, {
      name: `${p}in_flight_records`,
      help: 'Output records and sink writes processed but not yet durable',
      labelNames: ['application'],
    });
    this.stalledSeconds = gauge(registry, {
      name: `${p}stalled_seconds`,
      help: 'Seconds without a commit while the input has lag (0 when there is no lag)',
      labelNames: ['application'],
    });
    this.enforcedProcessing = counter(registry, {
      name: `${p}enforced_processing_total`,
      help:
        'Records a task with several inputs processed while one of them was empty and caught up past ' +
        'max.task.idle.ms (Kafka Streams enforced-processing-total): they may be out of timestamp order',
      labelNames: ['application', 'task'],
    });
  }
}
