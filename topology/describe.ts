import { changelogTopicName } from './state/store';
import { repartitionTopicName, resolveTopic, type Topology, type TopologyNode } from './topology';

/**
 * A readable description of a topology in the layout of Kafka Streams' `Topology#describe()`:
 * sub-topologies with their sources, processors (and stores) and sinks, then stores and internal
 * topics. Internal topic names are resolved with `applicationId`.
 */
export function describeTopology(topology: Topology, applicationId: string): string {
  const children = new Map<string, string[]>();
  for (const node of topology.nodes.values()) {
    for (const parent of node.parents) children.set(parent, [...(children.get(parent) ?? []), node.name]);
  }
  const lines = ['Topologies:'];
  for (const sub of topology.subTopologies) {
    lines.push(`   Sub-topology: ${sub.id}`);
    for (const name of sub.nodes) {
      const node = topology.nodes.get(name) as TopologyNode;
      lines.push(`    ${headline(node, applicationId)}`);
      const down = children.get(name) ?? [];
      if (down.length > 0) lines.push(`      --> ${down.join(', ')}`);
      if (node.parents.length > 0) lines.push(`      <-- ${node.parents.join(', ')}`);
    }
  }
  if (topology.stores.size > 0) {
    lines.push('Stores:');
    for (const spec of topology.stores.values()) {
      lines.push(
        `   ${spec.name} (${spec.kind}, max ${spec.maxEntries} entries, changelog: ${changelogTopicName(applicationId, spec.name)})`,
      );
    }
  }
  const internal = [
    ...topology.repartitionTopics.map(
      (t) =>
        `   ${repartitionTopicName(applicationId, t.name)} (repartition, partitions: ${t.partitions ?? 'as the reading sub-topology'})`,
    ),
    ...[...topology.stores.keys()].map(
      (s) => `   ${changelogTopicName(applicationId, s)} (changelog, compacted)`,
    ),
  ];
  if (internal.length > 0) lines.push('Internal topics:', ...internal);
  return `${lines.join('\n')}\n`;
}

function headline(node: TopologyNode, applicationId: string): string {
  switch (node.kind) {
    case 'source':
      return `Source: ${node.name} (topics: [${node.topics.map((t) => resolveTopic(t, applicationId)).join(', ')}])`;
    case 'processor':
      return `Processor: ${node.name} (stores: [${node.stores.join(', ')}])`;
    case 'sink':
      return node.topic
        ? `Sink: ${node.name} (topic: ${resolveTopic(node.topic, applicationId)})`
        : `Sink: ${node.name} (external: ${node.externalSink?.name ?? '?'})`;
  }
}
