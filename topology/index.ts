// Public surface of the streams runtime. Nothing here knows about OpenTelemetry.
export { TopologyBuilder, recordTimestamp, type SourceOptions } from './dsl/topology-builder';
export {
  KStream,
  type KeyValue,
  type ToOptions,
  type RepartitionOptions,
  type JoinOptions,
} from './dsl/kstream';
export { TimeWindowedKStream, SessionWindowedKStream } from './dsl/windowed-stream';
export type {
  Processor,
  ProcessorContext,
  ProcessorSupplier,
  PunctuationType,
  Punctuator,
  Cancellable,
  LateRecord,
} from './processor/processor';
export {
  HEADER,
  partitionId,
  type StreamRecord,
  type Headers,
  type RawRecord,
  type ProducedRecord,
  type SourcePosition,
  type SourceRange,
} from './processor/record';
export type { Sink } from './sink';
export {
  BatchingSink,
  itemsBetween,
  type BatchingSinkOptions,
  type BufferedItem,
  type RangeBatch,
  type UnrangedBatch,
  type SinkBatches,
} from './batching-sink';
export { jsonSerde, stringSerde, bufferSerde, listSerde, type Serde } from './serde';
export { keyValueStoreSpec, type KeyValueStore } from './state/key-value-store';
export { windowStoreSpec, type WindowStore, type WindowEntry } from './state/window-store';
export { changelogTopicName, type StoreSpec, type StoreOptions } from './state/store';
export { tumblingWindows } from './windows/tumbling';
export { hoppingWindows } from './windows/hopping';
export { sessionWindows } from './windows/session';
export type { Window, Windowed, TimeWindows, SessionWindows } from './windows/window';
export type { AggregationOptions, SessionAggregationOptions } from './windows/aggregation';
export { joinWindows, type JoinWindows } from './join/join-windows';
export { describeTopology } from './describe';
export { TopologyMetrics } from './metrics';
export { repartitionTopicName, type Topology, type TimestampExtractor } from './topology';
export {
  TopologyDefinitionError,
  CoPartitioningError,
  StateStoreFullError,
  SinkBufferFullError,
  DeserializationError,
  StreamsRuntimeError,
  BatchAbandonedError,
  RecordHandlingFailedError,
} from './errors';
export { StreamsApp } from './runtime/streams-app';
export { startRetrying, type Startable } from './runtime/start-retrying';
export type { StreamsAppOptions, ProcessingGuarantee } from './runtime/options';
export type { ExceptionPolicy, ExceptionPolicies } from './processor/exception-policy';
export type { BoundedProgress, BoundPosition } from './runtime/bounds';
export { kafkajsLogCreator } from './runtime/kafkajs-log';
export { stopOnSignals } from './runtime/shutdown';
export { murmur2Partitioner } from './processor/partitioning';
