import { filter, map, mergeMap, merge, tap, from, type OperatorFunction } from 'rxjs';
import { TopologyDefinitionError } from '../errors';
import { processorOperator } from '../processor/processor-operator';
import type { ProcessorSupplier } from '../processor/processor';
import type { StreamRecord } from '../processor/record';
import { jsonSerde, listSerde, type Serde } from '../serde';
import type { Sink } from '../sink';
import { windowStoreSpec } from '../state/window-store';
import type { AnyRecord, TopologyNode } from '../topology';
import { resolveTopic, type TopicRef } from '../topology';
import type { JoinWindows } from '../join/join-windows';
import { StreamStreamJoinProcessor, type JoinInput, type JoinType } from '../join/stream-stream-join';
import type { SessionWindows, TimeWindows } from '../windows/window';
import type { TopologyBuilder } from './topology-builder';
import { SessionWindowedKStream, TimeWindowedKStream } from './windowed-stream';

export interface KeyValue<K, V> {
  readonly key: K;
  readonly value: V;
}

export interface ToOptions<K, V> {
  readonly keySerde?: Serde<K>;
  readonly valueSerde?: Serde<V>;
}

export interface RepartitionOptions<K, V> extends ToOptions<K, V> {
  /** Partitions of the repartition topic; default: those of the sub-topology reading it. */
  readonly partitions?: number;
}

export interface JoinOptions<K, V, VO> {
  readonly windows: JoinWindows;
  readonly keySerde?: Serde<K>;
  readonly valueSerde?: Serde<V>;
  readonly otherValueSerde?: Serde<VO>;
  /** Bound of each side's buffer store. */
  readonly maxEntries?: number;
}

/**
 * A stream of keyed records, in the spirit of Kafka Streams' KStream. Every operator takes a name,
 * unique in the topology, shown by describe() and used for store and internal topic names.
 * Operators run synchronously inside a task; user functions must not do I/O (use a Sink).
 *
 * Operators that may change the key (map, flatMap, selectKey) mark the stream as needing a
 * repartition: a stateful operator (windowedBy, join) on it throws until `repartition` is called,
 * because records of one key could otherwise sit in different tasks.
 */
export class KStream<K, V> {
  constructor(
    private readonly builder: TopologyBuilder,
    /** Name of the node producing this stream. */
    readonly nodeName: string,
    private readonly keyChanged: boolean,
  ) {}

  /** Applies any synchronous RxJS operator to the records. The operator must keep keys unchanged. */
  pipe<K2, V2>(
    name: string,
    operator: OperatorFunction<StreamRecord<K, V>, StreamRecord<K2, V2>>,
  ): KStream<K2, V2> {
    return this.operator(name, operator as OperatorFunction<AnyRecord, AnyRecord>, this.keyChanged);
  }

  map<K2, V2>(name: string, mapper: (record: StreamRecord<K, V>) => KeyValue<K2, V2>): KStream<K2, V2> {
    return this.operator(
      name,
      map((record: AnyRecord) => ({ ...record, ...mapper(record as StreamRecord<K, V>) })),
      true,
    );
  }

  mapValues<V2>(name: string, mapper: (value: V, record: StreamRecord<K, V>) => V2): KStream<K, V2> {
    return this.operator(
      name,
      map((record: AnyRecord) => ({
        ...record,
        value: mapper(record.value as V, record as StreamRecord<K, V>),
      })),
      this.keyChanged,
    );
  }

  selectKey<K2>(name: string, selector: (record: StreamRecord<K, V>) => K2): KStream<K2, V> {
    return this.operator(
      name,
      map((record: AnyRecord) => ({ ...record, key: selector(record as StreamRecord<K, V>) })),
      true,
    );
  }

  filter(name: string, predicate: (record: StreamRecord<K, V>) => boolean): KStream<K, V> {
    return this.operator(
      name,
      filter((record: AnyRecord) => predicate(record as StreamRecord<K, V>)),
      this.keyChanged,
    );
  }

  flatMap<K2, V2>(
    name: string,
    mapper: (record: StreamRecord<K, V>) => Iterable<KeyValue<K2, V2>>,
  ): KStream<K2, V2> {
    return this.operator(
      name,
      mergeMap((record: AnyRecord) =>
        from([...mapper(record as StreamRecord<K, V>)].map((kv) => ({ ...record, ...kv }))),
      ),
      true,
    );
  }

  flatMapValues<V2>(
    name: string,
    mapper: (value: V, record: StreamRecord<K, V>) => Iterable<V2>,
  ): KStream<K, V2> {
    return this.operator(
      name,
      mergeMap((record: AnyRecord) =>
        from(
          [...mapper(record.value as V, record as StreamRecord<K, V>)].map((value) => ({ ...record, value })),
        ),
      ),
      this.keyChanged,
    );
  }

  peek(name: string, action: (record: StreamRecord<K, V>) => void): KStream<K, V> {
    return this.operator(
      name,
      tap((record: AnyRecord) => action(record as StreamRecord<K, V>)),
      this.keyChanged,
    );
  }

  /**
   * Splits the stream: a record goes to the first branch whose predicate matches, or nowhere.
   * Branch i is the node `${name}-${i}`. Predicates may run more than once per record: keep them pure.
   */
  branch(name: string, ...predicates: ((record: StreamRecord<K, V>) => boolean)[]): KStream<K, V>[] {
    const firstMatch = (record: AnyRecord): number =>
      predicates.findIndex((p) => p(record as StreamRecord<K, V>));
    return predicates.map((_, i) =>
      this.operator(
        `${name}-${i}`,
        filter((record: AnyRecord) => firstMatch(record) === i),
        this.keyChanged,
      ),
    );
  }

  /** Interleaves this stream and others, in processing order. */
  merge(name: string, ...others: KStream<K, V>[]): KStream<K, V> {
    const parents = [this.nodeName, ...others.map((o) => o.nodeName)];
    this.builder.addNode({
      kind: 'processor',
      name,
      parents,
      stores: [],
      build: (inputs) => merge(...inputs),
    });
    return new KStream<K, V>(this.builder, name, this.keyChanged || others.some((o) => o.keyChanged));
  }

  /**
   * Writes the records to `${APPLICATION_ID}-${name}-repartition`, partitioned by key, and reads them
   * back in a new sub-topology: downstream stateful steps then see all records of a key in one task.
   */
  repartition(name: string, options: RepartitionOptions<K, V> = {}): KStream<K, V> {
    const topic: TopicRef = { kind: 'repartition', name };
    const keySerde = options.keySerde ?? jsonSerde<K>();
    const valueSerde = options.valueSerde ?? jsonSerde<V>();
    this.addTopicSink(`${name}-sink`, topic, keySerde, valueSerde);
    this.builder.addRepartitionTopic({ name, partitions: options.partitions });
    return this.builder.source<K, V>(`${name}-source`, [topic], { keySerde, valueSerde });
  }

  /** Writes the records to a topic. */
  to(name: string, topic: string, options: ToOptions<K, V> = {}): void {
    this.addTopicSink(
      name,
      { kind: 'external', name: topic },
      options.keySerde ?? jsonSerde<K>(),
      options.valueSerde ?? jsonSerde<V>(),
    );
  }

  /** Hands the records to an external sink, flushed before each commit (see Sink). */
  toSink(name: string, sink: Sink<K, V>): void {
    const erased = sink as unknown as Sink<unknown, unknown>;
    this.builder.addExternalSink(erased);
    this.builder.addNode({
      kind: 'sink',
      name,
      parents: [this.nodeName],
      stores: [],
      topic: undefined,
      externalSink: erased,
      write: (record, runtime) => runtime.sinkWrite(erased, record),
    });
  }

  /** Processor API escape hatch: a processor with access to the named stores and punctuation. */
  process<K2, V2>(
    name: string,
    supplier: ProcessorSupplier<K, V, K2, V2>,
    options: { stores?: readonly string[] } = {},
  ): KStream<K2, V2> {
    const node: TopologyNode = {
      kind: 'processor',
      name,
      parents: [this.nodeName],
      stores: [...(options.stores ?? [])],
      build: ([input], runtime) => processorOperator(node, supplier, runtime)(input as never),
    };
    this.builder.addNode(node);
    return new KStream<K2, V2>(this.builder, name, true);
  }

  windowedBy(windows: TimeWindows): TimeWindowedKStream<K, V>;
  windowedBy(windows: SessionWindows): SessionWindowedKStream<K, V>;
  windowedBy(
    windows: TimeWindows | SessionWindows,
  ): TimeWindowedKStream<K, V> | SessionWindowedKStream<K, V> {
    this.requireCoLocatedKeys('windowedBy');
    return windows.kind === 'session'
      ? new SessionWindowedKStream<K, V>(this.builder, this.nodeName, windows)
      : new TimeWindowedKStream<K, V>(this.builder, this.nodeName, windows);
  }

  /**
   * Windowed inner join with another stream of the same key type (Kafka Streams' KStream#join). Both
   * streams end up in one sub-topology, so their source topics must be co-partitioned (checked at
   * start). Stores: `${name}-left-store`, `${name}-right-store`. See StreamStreamJoinProcessor.
   */
  join<VO, VR>(
    name: string,
    other: KStream<K, VO>,
    joiner: (left: V, right: VO, key: K) => VR,
    options: JoinOptions<K, V, VO>,
  ): KStream<K, VR> {
    return this.addJoin(
      name,
      'inner',
      other,
      joiner as (left: V | null, right: VO | null, key: K) => VR,
      options,
    );
  }

  /**
   * Windowed left join (KStream#leftJoin): a left record that matched nothing when its window closes
   * is forwarded with null for the right side. Also uses `${name}-outer-left-store` and
   * `${name}-outer-right-store` for the records that did not match yet.
   */
  leftJoin<VO, VR>(
    name: string,
    other: KStream<K, VO>,
    joiner: (left: V, right: VO | null, key: K) => VR,
    options: JoinOptions<K, V, VO>,
  ): KStream<K, VR> {
    return this.addJoin(
      name,
      'left',
      other,
      joiner as (left: V | null, right: VO | null, key: K) => VR,
      options,
    );
  }

  /** Windowed outer join (KStream#outerJoin): unmatched records of both sides, as leftJoin does. */
  outerJoin<VO, VR>(
    name: string,
    other: KStream<K, VO>,
    joiner: (left: V | null, right: VO | null, key: K) => VR,
    options: JoinOptions<K, V, VO>,
  ): KStream<K, VR> {
    return this.addJoin(name, 'outer', other, joiner, options);
  }

  private addJoin<VO, VR>(
    name: string,
    type: JoinType,
    other: KStream<K, VO>,
    joiner: (left: V | null, right: VO | null, key: K) => VR,
    options: JoinOptions<K, V, VO>,
  ): KStream<K, VR> {
    this.requireCoLocatedKeys('join');
    other.requireCoLocatedKeys('join');
    const keySerde = options.keySerde ?? jsonSerde<K>();
    const leftSerde = options.valueSerde ?? jsonSerde<V>();
    const rightSerde = options.otherValueSerde ?? jsonSerde<VO>();
    const maxEntries = options.maxEntries;
    const addStores = (prefix: string): Record<JoinInput['side'], string> => {
      const stores = { left: `${prefix}left-store`, right: `${prefix}right-store` };
      this.builder.addStateStore(
        windowStoreSpec(stores.left, { keySerde, valueSerde: listSerde(leftSerde), maxEntries }),
      );
      this.builder.addStateStore(
        windowStoreSpec(stores.right, { keySerde, valueSerde: listSerde(rightSerde), maxEntries }),
      );
      return stores;
    };
    const stores = addStores(`${name}-`);
    const outerStores = type === 'inner' ? undefined : addStores(`${name}-outer-`);
    const supplier = (): StreamStreamJoinProcessor<K, V, VO, VR> =>
      new StreamStreamJoinProcessor({
        type,
        windows: options.windows,
        stores,
        outerStores,
        joiner,
        keySerde,
      });
    const tag =
      (side: JoinInput['side']) =>
      (record: AnyRecord): AnyRecord => ({
        ...record,
        value: { side, value: record.value } satisfies JoinInput,
      });
    const node: TopologyNode = {
      kind: 'processor',
      name,
      parents: [this.nodeName, other.nodeName],
      stores: [...Object.values(stores), ...Object.values(outerStores ?? {})],
      build: ([left, right], runtime) =>
        processorOperator(
          node,
          supplier,
          runtime,
        )(merge(left!.pipe(map(tag('left'))), right!.pipe(map(tag('right'))))),
    };
    this.builder.addNode(node);
    return new KStream<K, VR>(this.builder, name, false);
  }

  /** @internal */
  requireCoLocatedKeys(operation: string): void {
    if (this.keyChanged) {
      throw new TopologyDefinitionError(
        `${operation} after ${this.nodeName}, which may have changed keys: call repartition(...) first`,
      );
    }
  }

  private operator<K2, V2>(
    name: string,
    operator: OperatorFunction<AnyRecord, AnyRecord>,
    keyChanged: boolean,
  ): KStream<K2, V2> {
    this.builder.addNode({
      kind: 'processor',
      name,
      parents: [this.nodeName],
      stores: [],
      build: ([input]) => (input as NonNullable<typeof input>).pipe(operator),
    });
    return new KStream<K2, V2>(this.builder, name, keyChanged);
  }

  private addTopicSink(name: string, topic: TopicRef, keySerde: Serde<K>, valueSerde: Serde<V>): void {
    this.builder.addNode({
      kind: 'sink',
      name,
      parents: [this.nodeName],
      stores: [],
      topic,
      externalSink: undefined,
      write: (record, runtime) =>
        runtime.send({
          topic: resolveTopic(topic, runtime.applicationId),
          key: keySerde.serialize(record.key as K),
          value: valueSerde.serialize(record.value as V),
          timestamp: record.timestamp,
          headers: record.headers,
        }),
    });
  }
}
