import { TopologyDefinitionError } from '../errors';
import type { Sink } from '../sink';
import { jsonSerde, type Serde } from '../serde';
import type { StoreSpec } from '../state/store';
import type {
  RepartitionTopicSpec,
  SubTopology,
  TimestampExtractor,
  Topology,
  TopicRef,
  TopologyNode,
} from '../topology';
import { KStream } from './kstream';

export interface SourceOptions<K, V> {
  readonly keySerde?: Serde<K>;
  readonly valueSerde?: Serde<V>;
  /** Event time of a record; default: the Kafka record timestamp. */
  readonly timestampExtractor?: TimestampExtractor<K, V>;
}

/** Event time = the Kafka record timestamp. */
export const recordTimestamp: TimestampExtractor<unknown, unknown> = (input) => input.recordTimestamp;

/**
 * Builds a topology: sources, operators (each with a unique name, which describe() shows and from
 * which store and internal topic names derive), stores and sinks.
 */
export class TopologyBuilder {
  private readonly nodes = new Map<string, TopologyNode>();
  private readonly stores = new Map<string, StoreSpec>();
  private readonly repartitionTopics: RepartitionTopicSpec[] = [];
  private readonly externalSinks: Sink<unknown, unknown>[] = [];
  private readonly sourceTopics = new Set<string>();

  /** A stream of the records of one or more topics. */
  stream<K, V>(
    name: string,
    topics: string | readonly string[],
    options: SourceOptions<K, V> = {},
  ): KStream<K, V> {
    const list = typeof topics === 'string' ? [topics] : [...topics];
    if (list.length === 0) throw new TopologyDefinitionError(`source ${name} has no topic`);
    return this.source(
      name,
      list.map((topic) => ({ kind: 'external', name: topic })),
      options,
    );
  }

  /** Adds a store that `KStream.process` processors can name. */
  addStateStore(spec: StoreSpec): this {
    if (this.stores.has(spec.name)) throw new TopologyDefinitionError(`store ${spec.name} is defined twice`);
    this.stores.set(spec.name, spec);
    return this;
  }

  build(): Topology {
    for (const node of this.nodes.values()) {
      for (const store of node.stores) {
        if (!this.stores.has(store)) {
          throw new TopologyDefinitionError(
            `processor ${node.name} uses store ${store}, which was never added`,
          );
        }
      }
    }
    const subTopologies = this.subTopologies();
    const owners = new Map<string, number>();
    for (const sub of subTopologies) {
      for (const store of sub.stores) {
        const owner = owners.get(store);
        if (owner !== undefined) {
          throw new TopologyDefinitionError(
            `store ${store} is used by sub-topologies ${owner} and ${sub.id}`,
          );
        }
        owners.set(store, sub.id);
      }
    }
    return {
      nodes: new Map(this.nodes),
      subTopologies,
      stores: new Map(this.stores),
      repartitionTopics: [...this.repartitionTopics],
      externalSinks: [...this.externalSinks],
    };
  }

  /** @internal Used by KStream. */
  source<K, V>(name: string, topics: TopicRef[], options: SourceOptions<K, V>): KStream<K, V> {
    for (const topic of topics) {
      const id = `${topic.kind}:${topic.name}`;
      if (this.sourceTopics.has(id))
        throw new TopologyDefinitionError(`topic ${topic.name} is read by two sources`);
      this.sourceTopics.add(id);
    }
    this.addNode({
      kind: 'source',
      name,
      parents: [],
      stores: [],
      topics,
      keySerde: (options.keySerde ?? jsonSerde<K>()) as Serde<unknown>,
      valueSerde: (options.valueSerde ?? jsonSerde<V>()) as Serde<unknown>,
      timestampExtractor: (options.timestampExtractor ?? recordTimestamp) as TimestampExtractor<
        unknown,
        unknown
      >,
    });
    return new KStream<K, V>(this, name, false);
  }

  /** @internal */
  addNode(node: TopologyNode): void {
    if (this.nodes.has(node.name))
      throw new TopologyDefinitionError(`a processor named ${node.name} already exists`);
    for (const parent of node.parents) {
      if (!this.nodes.has(parent))
        throw new TopologyDefinitionError(`unknown parent ${parent} of ${node.name}`);
    }
    this.nodes.set(node.name, node);
  }

  /** @internal */
  addRepartitionTopic(spec: RepartitionTopicSpec): void {
    this.repartitionTopics.push(spec);
  }

  /** @internal */
  addExternalSink(sink: Sink<unknown, unknown>): void {
    if (!this.externalSinks.includes(sink)) this.externalSinks.push(sink);
  }

  /** Connected components of the node graph; repartition topics are the only links between them. */
  private subTopologies(): SubTopology[] {
    const root = new Map<string, string>();
    const find = (name: string): string => {
      let r = name;
      while (root.get(r) !== r) r = root.get(r) as string;
      root.set(name, r);
      return r;
    };
    for (const name of this.nodes.keys()) root.set(name, name);
    for (const node of this.nodes.values()) {
      for (const parent of node.parents) root.set(find(node.name), find(parent));
    }
    const groups = new Map<string, string[]>();
    // Map preserves insertion order and parents are always added before children: topological order.
    for (const name of this.nodes.keys()) {
      const group = groups.get(find(name)) ?? [];
      group.push(name);
      groups.set(find(name), group);
    }
    return [...groups.values()].map((names, id) => {
      const nodes = names.map((n) => this.nodes.get(n) as TopologyNode);
      return {
        id,
        nodes: names,
        sourceTopics: nodes.flatMap((n) => (n.kind === 'source' ? n.topics : [])),
        stores: [...new Set(nodes.flatMap((n) => n.stores))],
      };
    });
  }
}
