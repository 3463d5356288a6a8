import type { Observable } from 'rxjs';
import type { ProcessorContext } from './processor/processor';
import type { Headers, ProducedRecord, StreamRecord } from './processor/record';
import type { Serde } from './serde';
import type { Sink } from './sink';
import type { StoreSpec } from './state/store';

export type AnyRecord = StreamRecord<unknown, unknown>;

/** A topic named by the user, or an internal one whose name derives from the application id. */
export type TopicRef =
  | { readonly kind: 'external'; readonly name: string }
  | { readonly kind: 'repartition'; readonly name: string };

export function resolveTopic(ref: TopicRef, applicationId: string): string {
  return ref.kind === 'external' ? ref.name : repartitionTopicName(applicationId, ref.name);
}

export function repartitionTopicName(applicationId: string, name: string): string {
  return `${applicationId}-${name}-repartition`;
}

/** Input of a timestamp extractor: the deserialized record plus the Kafka record timestamp. */
export interface TimestampExtractorInput<K, V> {
  readonly key: K;
  readonly value: V;
  readonly headers: Headers;
  readonly recordTimestamp: number;
}

/** Returns a record's event time in ms since the epoch. */
export type TimestampExtractor<K, V> = (input: TimestampExtractorInput<K, V>) => number;

/** What the operators of a task instance can ask of their task. */
export interface NodeRuntime {
  readonly applicationId: string;
  /** A processor context for `node`, forwarding to `forward`; closed when the pipeline is torn down. */
  processorContext<KOut, VOut>(
    node: TopologyNode,
    forward: (record: StreamRecord<KOut, VOut>) => void,
  ): ProcessorContext<KOut, VOut>;
  /** Queues a record for a topic (written at the next commit). */
  send(record: ProducedRecord): void;
  /** Hands a record to an external sink (flushed at the next commit). */
  sinkWrite(sink: Sink<unknown, unknown>, record: AnyRecord): void;
}

interface NodeBase {
  readonly name: string;
  readonly parents: readonly string[];
  /** Stores the node may access. */
  readonly stores: readonly string[];
}

export interface SourceNode extends NodeBase {
  readonly kind: 'source';
  readonly topics: readonly TopicRef[];
  readonly keySerde: Serde<unknown>;
  readonly valueSerde: Serde<unknown>;
  readonly timestampExtractor: TimestampExtractor<unknown, unknown>;
}

export interface ProcessorNode extends NodeBase {
  readonly kind: 'processor';
  /** Wires the node's operator onto its parents' outputs, for one task instance. */
  build(inputs: readonly Observable<AnyRecord>[], runtime: NodeRuntime): Observable<AnyRecord>;
}

export interface SinkNode extends NodeBase {
  readonly kind: 'sink';
  /** Topic written to; undefined for an external sink. */
  readonly topic: TopicRef | undefined;
  readonly externalSink: Sink<unknown, unknown> | undefined;
  /** Handles one record reaching the sink. */
  write(record: AnyRecord, runtime: NodeRuntime): void;
}

export type TopologyNode = SourceNode | ProcessorNode | SinkNode;

/** A connected part of the topology; one task per input partition runs it. */
export interface SubTopology {
  readonly id: number;
  /** Node names in an order where parents come before children. */
  readonly nodes: readonly string[];
  readonly sourceTopics: readonly TopicRef[];
  readonly stores: readonly string[];
}

export interface RepartitionTopicSpec {
  readonly name: string;
  /** Partition count asked for; undefined = the runtime picks (see runtime/internal-topics). */
  readonly partitions: number | undefined;
}

/** An immutable, validated topology produced by TopologyBuilder.build(). */
export interface Topology {
  readonly nodes: ReadonlyMap<string, TopologyNode>;
  readonly subTopologies: readonly SubTopology[];
  readonly stores: ReadonlyMap<string, StoreSpec>;
  readonly repartitionTopics: readonly RepartitionTopicSpec[];
  readonly externalSinks: readonly Sink<unknown, unknown>[];
}
