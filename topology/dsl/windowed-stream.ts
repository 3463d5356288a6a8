import type { ProcessorSupplier } from '../processor/processor';
import { processorOperator } from '../processor/processor-operator';
import { jsonSerde, type Serde } from '../serde';
import { windowStoreSpec } from '../state/window-store';
import type { TopologyNode } from '../topology';
import type { AggregationOptions, SessionAggregationOptions } from '../windows/aggregation';
import { SessionWindowAggregateProcessor } from '../windows/session-window-aggregate';
import { TimeWindowAggregateProcessor } from '../windows/time-window-aggregate';
import type { SessionWindows, TimeWindows, Windowed } from '../windows/window';
import { windowValueSerde } from '../windows/window-value';
import { KStream } from './kstream';
import type { TopologyBuilder } from './topology-builder';

/** A keyed stream over tumbling or hopping windows; aggregations use the store `${name}-store`. */
export class TimeWindowedKStream<K, V> {
  constructor(
    private readonly builder: TopologyBuilder,
    private readonly parent: string,
    private readonly windows: TimeWindows,
  ) {}

  aggregate<A>(name: string, options: AggregationOptions<K, V, A>): KStream<Windowed<K>, A> {
    const { storeName, keySerde, valueSerde } = addAggregateStore(this.builder, name, options);
    const supplier = (): TimeWindowAggregateProcessor<K, V, A> =>
      new TimeWindowAggregateProcessor({
        windows: this.windows,
        storeName,
        initializer: options.initializer,
        aggregator: options.aggregator,
        emit: options.emit ?? 'final',
        keySerde,
        valueSerde,
      });
    return addAggregateNode<K, V, A>(this.builder, name, this.parent, storeName, supplier);
  }

  count(name: string, options: Omit<AggregationOptions<K, V, number>, 'initializer' | 'aggregator'> = {}) {
    return this.aggregate<number>(name, {
      ...options,
      initializer: () => 0,
      aggregator: (_k, _v, n) => n + 1,
    });
  }
}

/** A keyed stream over session windows; aggregations use the store `${name}-store`. */
export class SessionWindowedKStream<K, V> {
  constructor(
    private readonly builder: TopologyBuilder,
    private readonly parent: string,
    private readonly windows: SessionWindows,
  ) {}

  /** Values are null only for tombstones of merged sessions, under `emit: 'updates'`. */
  aggregate<A>(name: string, options: SessionAggregationOptions<K, V, A>): KStream<Windowed<K>, A | null> {
    const { storeName, keySerde, valueSerde } = addAggregateStore(this.builder, name, options);
    const supplier = (): SessionWindowAggregateProcessor<K, V, A> =>
      new SessionWindowAggregateProcessor({
        windows: this.windows,
        storeName,
        initializer: options.initializer,
        aggregator: options.aggregator,
        merger: options.merger,
        emit: options.emit ?? 'final',
        keySerde,
        valueSerde,
      });
    return addAggregateNode<K, V, A | null>(this.builder, name, this.parent, storeName, supplier);
  }

  count(
    name: string,
    options: Omit<SessionAggregationOptions<K, V, number>, 'initializer' | 'aggregator' | 'merger'> = {},
  ) {
    return this.aggregate<number>(name, {
      ...options,
      initializer: () => 0,
      aggregator: (_k, _v, n) => n + 1,
      merger: (_k, a, b) => a + b,
    });
  }
}

/** The window store `${name}-store` an aggregation keeps its windows in, and the serdes it uses. */
function addAggregateStore<K, V, A>(
  builder: TopologyBuilder,
  name: string,
  options: Pick<AggregationOptions<K, V, A>, 'keySerde' | 'valueSerde' | 'aggregateSerde' | 'maxEntries'>,
): { storeName: string; keySerde: Serde<K>; valueSerde: Serde<V> } {
  const storeName = `${name}-store`;
  const keySerde = options.keySerde ?? jsonSerde<K>();
  const valueSerde = options.valueSerde ?? jsonSerde<V>();
  builder.addStateStore(
    windowStoreSpec(storeName, {
      keySerde,
      valueSerde: windowValueSerde(options.aggregateSerde ?? jsonSerde<A>()),
      maxEntries: options.maxEntries,
    }),
  );
  return { storeName, keySerde, valueSerde };
}

function addAggregateNode<K, V, A>(
  builder: TopologyBuilder,
  name: string,
  parent: string,
  storeName: string,
  supplier: ProcessorSupplier<K, V, Windowed<K>, A>,
): KStream<Windowed<K>, A> {
  const node: TopologyNode = {
    kind: 'processor',
    name,
    parents: [parent],
    stores: [storeName],
    build: ([input], runtime) => processorOperator(node, supplier, runtime)(input as never),
  };
  builder.addNode(node);
  return new KStream<Windowed<K>, A>(builder, name, false);
}
