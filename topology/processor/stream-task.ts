import { share, Subject, type Observable, type Subscription } from 'rxjs';
import {
  DeserializationError,
  RecordHandlingFailedError,
  RecordTooLargeError,
  TopologyDefinitionError,
} from '../errors';
import type { TopologyMetrics } from '../metrics';
import type { Sink } from '../sink';
import type { KeyValueStore } from '../state/key-value-store';
import { changelogTopicName, type StateStore, type StorePersistence } from '../state/store';
import type { WindowStore } from '../state/window-store';
import {
  resolveTopic,
  type AnyRecord,
  type NodeRuntime,
  type SourceNode,
  type SubTopology,
  type Topology,
  type TopologyNode,
} from '../topology';
import { DEFAULT_EXCEPTION_POLICIES, type ExceptionPolicies } from './exception-policy';
import type { LateRecord, ProcessorContext } from './processor';
import { PunctuationQueue } from './punctuation';
import { keyPartition } from './partitioning';
import { decodeRepartitionBatch, RepartitionBatcher } from './repartition-batch';
import {
  HEADER,
  producedBytes,
  type Headers,
  type ChangelogRecord,
  type ProducedRecord,
  type RawRecord,
  type SourcePosition,
  type StreamRecord,
} from './record';

/** Where a task puts what it produces; the runtime makes it durable at commit. */
export interface TaskCollector {
  send(record: ProducedRecord): void;
  /** A store change; only the last change per key and commit needs producing (see ChangelogWriter). */
  changelog(record: ChangelogRecord): void;
  sinkWrite(sink: Sink<unknown, unknown>, record: AnyRecord, source: SourcePosition): void;
}

export interface StreamTaskOptions {
  readonly applicationId: string;
  readonly topology: Topology;
  readonly subTopology: SubTopology;
  readonly partition: number;
  readonly collector: TaskCollector;
  readonly lateTopic: string;
  readonly dlqTopic: string;
  /** Wall clock, injectable so the test driver controls wall-clock punctuation. */
  readonly clock: () => number;
  readonly metrics?: TopologyMetrics;
  /**
   * Largest record (estimated bytes, see producedBytes) the task may produce; default 1 000 000, under
   * the broker's default max.message.bytes (1 MiB). A bigger output is dead-lettered by reference
   * instead of making the commit fail for good (the same input would produce it again).
   */
  readonly maxRecordBytes?: number;
  /** What becomes of a record that cannot be deserialized or processed; default: both dead-lettered. */
  readonly exceptionPolicies?: ExceptionPolicies;
  /** Called for every record sent to the DLQ or dropped by an exception policy (the runtime logs it). */
  readonly onRecordError?: (error: unknown, raw: RawRecord, outcome: 'dead-lettered' | 'dropped') => void;
  /**
   * Called when a wall-clock punctuation throws and the processing policy is not `fail` (there is no
   * input record to dead-letter).
   */
  readonly onPunctuationError?: (error: unknown) => void;
  /**
   * Partitions of each repartition topic (resolved names): records sent there are batched per
   * partition (repartition-batch.ts), placed by murmur2 of their key as the producer would.
   */
  readonly repartitionPartitions: ReadonlyMap<string, number>;
  /** Where key-value stores persist their state; undefined: in memory. */
  readonly storePersistence?: StorePersistence;
}

/**
 * One task: a sub-topology instantiated for one partition, with its own stores, stream time and
 * punctuation schedules. Records are pushed synchronously through the RxJS pipeline, one at a time,
 * so the task is done with a record when `process` returns. Operators must therefore be
 * synchronous; asynchronous work belongs to sinks, which are flushed at commit.
 *
 * A record whose deserialization or processing throws is handled by its exception policy
 * (./exception-policy.ts: by default it goes to the DLQ with headers naming the error and its
 * source); after a processing error the pipeline is rebuilt (operator-internal state is lost, stores
 * are kept) and processing goes on, unless the policy is `fail`: then `process` throws a
 * RecordHandlingFailedError.
 */
export class StreamTask {
  readonly id: string;
  readonly stores = new Map<string, StateStore>();
  private readonly sourcesByTopic = new Map<string, SourceNode>();
  /** Source topics whose records are batches of records (repartition topics). */
  private readonly batchedSources = new Set<string>();
  private readonly batcher = new RepartitionBatcher();
  private readonly punctuation = new PunctuationQueue();
  private subjects = new Map<string, Subject<AnyRecord>>();
  private subscriptions: Subscription[] = [];
  private pipelineError: unknown = undefined;
  private streamTimeMs = Number.NEGATIVE_INFINITY;
  /** The input record being processed (undefined during punctuation), and its position. */
  private current: RawRecord | undefined;
  private currentPosition: SourcePosition | undefined;
  private lastPosition: SourcePosition | undefined;

  constructor(private readonly options: StreamTaskOptions) {
    const { topology, subTopology, partition, applicationId } = options;
    this.id = `${subTopology.id}_${partition}`;
    for (const storeName of subTopology.stores) {
      const spec = topology.stores.get(storeName);
      if (!spec) throw new TopologyDefinitionError(`unknown store ${storeName}`);
      const topic = changelogTopicName(applicationId, storeName);
      this.stores.set(
        storeName,
        spec.create(
          {
            append: (key, value) =>
              options.collector.changelog({
                topic,
                partition,
                key,
                value,
                timestamp: this.changeTimestamp(),
              }),
          },
          { applicationId, taskId: this.id, partition, persistence: options.storePersistence },
        ),
      );
    }
    for (const name of subTopology.nodes) {
      const node = topology.nodes.get(name);
      if (node?.kind === 'source') {
        for (const ref of node.topics) {
          const topic = resolveTopic(ref, applicationId);
          this.sourcesByTopic.set(topic, node);
          if (ref.kind === 'repartition') this.batchedSources.add(topic);
        }
      }
    }
    this.buildPipeline();
  }

  get partition(): number {
    return this.options.partition;
  }

  streamTime(): number {
    return this.streamTimeMs;
  }

  /** Resumes from the stream time committed before a restart (never moves it backwards). */
  restoreStreamTime(streamTime: number): void {
    this.streamTimeMs = Math.max(this.streamTimeMs, streamTime);
  }

  /** Resolved names of the topics this task reads (partition = the task's partition). */
  sourceTopics(): string[] {
    return [...this.sourcesByTopic.keys()];
  }

  /**
   * The timestamp that orders a fetched record against the task's other inputs before it is
   * processed (Kafka Streams' RecordQueue extracts it when records are buffered): the source's
   * timestamp extractor's, or, for a repartition batch, its Kafka timestamp (its latest item's). A
   * record that cannot be deserialized takes its Kafka timestamp: process() dead-letters it.
   * It deserializes the record once more; the runtime asks only for tasks with several inputs.
   */
  timestampOf(raw: RawRecord): number {
    const source = this.sourcesByTopic.get(raw.topic);
    if (!source) throw new TopologyDefinitionError(`task ${this.id} has no source for topic ${raw.topic}`);
    if (this.batchedSources.has(raw.topic)) return raw.timestamp;
    try {
      return this.deserialize(source, raw).timestamp;
    } catch {
      return raw.timestamp;
    }
  }

  /**
   * Processes one input record: deserialize, advance stream time, run the pipeline, punctuate.
   * Nothing is measured per record here (the runtime counts and times whole fetches): a timer and
   * three metric updates per record cost more than a simple operator.
   */
  process(raw: RawRecord): void {
    const source = this.sourcesByTopic.get(raw.topic);
    if (!source) throw new TopologyDefinitionError(`task ${this.id} has no source for topic ${raw.topic}`);
    // Only the position: processors spread it into the records they forward.
    this.currentPosition = { topic: raw.topic, partition: raw.partition, offset: raw.offset };
    this.lastPosition = this.currentPosition;
    try {
      if (!this.batchedSources.has(raw.topic)) {
        this.processRecord(source, raw);
        return;
      }
      let items;
      try {
        items = decodeRepartitionBatch(raw.value);
      } catch (error) {
        this.handleError('deserialization', error, raw);
        return;
      }
      // Each item as a record of its own at the batch's position (a dead letter carries the item).
      for (const item of items) this.processRecord(source, { ...raw, ...item });
    } finally {
      this.currentPosition = undefined;
      this.sendBatches();
    }
  }

  private processRecord(source: SourceNode, raw: RawRecord): void {
    this.current = raw;
    try {
      let record: AnyRecord;
      try {
        record = this.deserialize(source, raw);
      } catch (error) {
        this.handleError(
          'deserialization',
          new DeserializationError(errorMessage(error), { cause: error }),
          raw,
        );
        return;
      }
      this.streamTimeMs = Math.max(this.streamTimeMs, record.timestamp);
      this.pipelineError = undefined;
      this.subjects.get(source.name)?.next(record);
      if (this.pipelineError === undefined) this.punctuation.fire('stream-time', this.streamTimeMs);
      if (this.pipelineError !== undefined) {
        this.rebuildPipeline();
        this.handleError('processing', this.pipelineError, raw);
      }
    } finally {
      this.current = undefined;
    }
  }

  /** Fires due wall-clock punctuations; an error there is reported and the pipeline rebuilt. */
  punctuateWallClock(): void {
    this.pipelineError = undefined;
    this.punctuation.fire('wall-clock', this.options.clock());
    this.sendBatches();
    if (this.pipelineError !== undefined) {
      this.rebuildPipeline();
      if (this.policies().processing === 'fail') {
        throw new RecordHandlingFailedError(
          `a wall-clock punctuation of task ${this.id} failed: ${errorMessage(this.pipelineError)}`,
          { cause: this.pipelineError },
        );
      }
      this.options.onPunctuationError?.(this.pipelineError);
    }
  }

  close(): void {
    this.teardownPipeline();
    for (const store of this.stores.values()) store.close();
  }

  private deserialize(source: SourceNode, raw: RawRecord): AnyRecord {
    const key = source.keySerde.deserialize(raw.key);
    const value = source.valueSerde.deserialize(raw.value);
    const timestamp = source.timestampExtractor({
      key,
      value,
      headers: raw.headers,
      recordTimestamp: raw.timestamp,
    });
    if (!Number.isFinite(timestamp) || timestamp < 0) {
      throw new DeserializationError(`timestamp extractor returned an invalid timestamp: ${timestamp}`);
    }
    return {
      key,
      value,
      timestamp,
      headers: raw.headers,
      topic: raw.topic,
      partition: raw.partition,
      offset: raw.offset,
    };
  }

  private policies(): ExceptionPolicies {
    return this.options.exceptionPolicies ?? DEFAULT_EXCEPTION_POLICIES;
  }

  /** A record that could not be deserialized or processed, handled as its policy says. */
  private handleError(kind: keyof ExceptionPolicies, error: unknown, raw: RawRecord): void {
    const policy = this.policies()[kind];
    if (policy === 'dead-letter') {
      this.deadLetter(error, raw);
    } else if (policy === 'continue') {
      const type = error instanceof Error ? error.name : 'Error';
      this.options.metrics?.droppedRecords.inc({ application: this.options.applicationId, error: type });
      this.options.onRecordError?.(error, raw, 'dropped');
    } else {
      throw new RecordHandlingFailedError(
        `${kind} of ${raw.topic}-${raw.partition}@${raw.offset} failed: ${errorMessage(error)}`,
        { cause: error },
      );
    }
  }

  private deadLetter(error: unknown, raw: RawRecord): void {
    const type = error instanceof Error ? error.name : 'Error';
    const headers: Headers = {
      ...raw.headers,
      [HEADER.error]: errorMessage(error).slice(0, MAX_ERROR_HEADER_CHARS),
      [HEADER.errorType]: type,
      [HEADER.sourceTopic]: raw.topic,
      [HEADER.sourcePartition]: String(raw.partition),
      [HEADER.sourceOffset]: raw.offset,
    };
    const letter: ProducedRecord = {
      topic: this.options.dlqTopic,
      key: raw.key,
      value: raw.value,
      timestamp: raw.timestamp,
      headers,
    };
    // An input near the broker's limit, plus the headers, may not fit: then the dead letter holds a
    // reference (the source headers) instead of the value, which stays readable in its own topic.
    const fits = producedBytes(letter) <= this.maxRecordBytes();
    this.options.collector.send(
      fits
        ? letter
        : {
            ...letter,
            key: null,
            value: null,
            headers: { ...headers, [HEADER.droppedValueBytes]: String(raw.value?.length ?? 0) },
          },
    );
    this.options.metrics?.dlqRecords.inc({ application: this.options.applicationId, error: type });
    this.options.onRecordError?.(error, raw, 'dead-lettered');
  }

  /**
   * Sends an output (a repartition record into its partition's batch), or a dead letter naming its
   * input when it is over the record size limit.
   */
  private send(record: ProducedRecord): void {
    const bytes = producedBytes(record);
    const partitions = this.options.repartitionPartitions.get(record.topic);
    if (bytes <= this.maxRecordBytes() && partitions !== undefined) {
      this.batcher.add(record.topic, record.partition ?? partitionOf(record.key, partitions), record);
      return;
    }
    if (bytes <= this.maxRecordBytes()) {
      this.options.collector.send(record);
      return;
    }
    const error = new RecordTooLargeError(
      `an output to ${record.topic} of ~${bytes} bytes is over the ${this.maxRecordBytes()}-byte record limit`,
    );
    const position = this.position();
    const source: RawRecord = this.current ?? {
      ...position,
      key: null,
      value: null,
      timestamp: this.changeTimestamp(),
      headers: {},
    };
    this.deadLetter(error, source);
  }

  private maxRecordBytes(): number {
    return this.options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  }

  private reportLate(processorName: string, late: LateRecord): void {
    const { record } = late;
    this.options.collector.send({
      topic: this.options.lateTopic,
      key: late.key,
      value: late.value,
      timestamp: record.timestamp,
      headers: {
        ...record.headers,
        [HEADER.sourceTopic]: record.topic,
        [HEADER.sourcePartition]: String(record.partition),
        [HEADER.sourceOffset]: record.offset,
        [HEADER.lateProcessor]: processorName,
        [HEADER.lateWindowEnd]: String(late.windowEnd),
        [HEADER.lateStreamTime]: String(this.streamTimeMs),
      },
    });
    this.options.metrics?.lateRecords.inc({
      application: this.options.applicationId,
      processor: processorName,
    });
  }

  /** Produces the repartition batches collected while processing an input (or a punctuation). */
  private sendBatches(): void {
    for (const batch of this.batcher.drain()) this.options.collector.send(batch);
  }

  /** Changelog records carry the stream time at which the change happened. */
  private changeTimestamp(): number {
    return Number.isFinite(this.streamTimeMs) ? this.streamTimeMs : this.options.clock();
  }

  private position(): SourcePosition {
    return (
      this.currentPosition ??
      this.lastPosition ?? { topic: '', partition: this.options.partition, offset: '-1' }
    );
  }

  private rebuildPipeline(): void {
    this.teardownPipeline();
    this.buildPipeline();
  }

  private teardownPipeline(): void {
    for (const subscription of this.subscriptions) subscription.unsubscribe();
    this.subscriptions = [];
    this.subjects = new Map();
    this.punctuation.clear();
  }

  private buildPipeline(): void {
    const { topology, subTopology } = this.options;
    const runtime = this.nodeRuntime();
    const outputs = new Map<string, Observable<AnyRecord>>();
    const children = new Map<string, number>();
    const nodes = subTopology.nodes.map((name) => topology.nodes.get(name) as TopologyNode);
    for (const node of nodes)
      for (const parent of node.parents) children.set(parent, (children.get(parent) ?? 0) + 1);
    // A node read by several children multicasts through share(); one read once needs none (share's
    // inner Subject cost an iterator and its results per record and node, ~6 % of what the pipeline
    // allocated).
    const output = (name: string, observable: Observable<AnyRecord>): Observable<AnyRecord> =>
      (children.get(name) ?? 0) > 1 ? observable.pipe(share()) : observable;
    const onError = (error: unknown): void => {
      this.pipelineError ??= error;
    };
    for (const node of nodes) {
      const inputs = node.parents.map((parent) => outputs.get(parent) as Observable<AnyRecord>);
      if (node.kind === 'source') {
        const subject = new Subject<AnyRecord>();
        this.subjects.set(node.name, subject);
        outputs.set(node.name, output(node.name, subject));
      } else if (node.kind === 'processor') {
        outputs.set(node.name, output(node.name, node.build(inputs, runtime)));
      } else {
        for (const input of inputs) {
          this.subscriptions.push(
            input.subscribe({
              next: (record) => {
                try {
                  node.write(record, runtime);
                } catch (error) {
                  onError(error);
                }
              },
              error: onError,
            }),
          );
        }
      }
    }
    // Leaves that are not sinks (e.g. a terminal peek) still run: subscribe to them too.
    for (const node of nodes) {
      if (node.kind !== 'sink' && !children.has(node.name)) {
        this.subscriptions.push(
          (outputs.get(node.name) as Observable<AnyRecord>).subscribe({ error: onError }),
        );
      }
    }
  }

  private nodeRuntime(): NodeRuntime {
    const { applicationId, collector, partition } = this.options;
    return {
      applicationId,
      send: (record) => this.send(record),
      sinkWrite: (sink, record) => collector.sinkWrite(sink, record, this.position()),
      processorContext: <KOut, VOut>(
        node: TopologyNode,
        forward: (record: StreamRecord<KOut, VOut>) => void,
      ): ProcessorContext<KOut, VOut> => {
        const store = (name: string): StateStore => {
          const found = node.stores.includes(name) ? this.stores.get(name) : undefined;
          if (!found)
            throw new TopologyDefinitionError(`processor ${node.name} did not declare store ${name}`);
          return found;
        };
        return {
          applicationId,
          taskId: this.id,
          partition,
          processorName: node.name,
          streamTime: () => this.streamTimeMs,
          position: () => this.position(),
          forward,
          keyValueStore: <K, V>(name: string) => {
            const s = store(name);
            if (s.kind !== 'key-value')
              throw new TopologyDefinitionError(`store ${name} is not a key-value store`);
            return s as KeyValueStore<K, V>;
          },
          windowStore: <K, V>(name: string) => {
            const s = store(name);
            if (s.kind !== 'window') throw new TopologyDefinitionError(`store ${name} is not a window store`);
            return s as WindowStore<K, V>;
          },
          schedule: (intervalMs, type, punctuator) =>
            this.punctuation.schedule(
              intervalMs,
              type,
              (time) => {
                try {
                  punctuator(time);
                } catch (error) {
                  this.pipelineError ??= error;
                }
              },
              this.options.clock(),
            ),
          reportLate: (late) => this.reportLate(node.name, late),
        };
      },
    };
  }
}

/** Under the broker's default max.message.bytes (1 048 588), with room for the batch overhead. */
export const DEFAULT_MAX_RECORD_BYTES = 1_000_000;

/** A dead letter's error header is cut here: some messages quote the record they failed on. */
const MAX_ERROR_HEADER_CHARS = 2_000;

/** Where the producer's partitioner would put the key (murmur2; records without a key go to 0). */
function partitionOf(key: Buffer | null, partitions: number): number {
  return key === null ? 0 : keyPartition(key, partitions);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
