import { CoPartitioningError, TopologyDefinitionError } from '../errors';
import { resolveTopic, type Topology } from '../topology';

/** Partition counts the runtime works with: per sub-topology (= tasks) and per repartition topic. */
export interface PartitionPlan {
  /** Number of tasks (partitions) of each sub-topology, by sub-topology id. */
  readonly subTopologyPartitions: ReadonlyMap<number, number>;
  /** Partitions to create each repartition topic with, by resolved topic name. */
  readonly repartitionPartitions: ReadonlyMap<string, number>;
  /** Which sub-topology reads each source topic (resolved names). */
  readonly subTopologyOfTopic: ReadonlyMap<string, number>;
}

/**
 * Decides partition counts and checks co-partitioning, before anything is created.
 *
 * - A sub-topology's source topics must all have the same partition count, because task p reads
 *   partition p of each of them (joined or merged streams must be co-partitioned).
 * - A repartition topic without an explicit count takes the count of the other sources of the
 *   sub-topology reading it, or, if that sub-topology reads only repartition topics, the largest
 *   count of the sub-topologies writing them.
 */
export function planPartitions(
  topology: Topology,
  applicationId: string,
  externalPartitions: ReadonlyMap<string, number>,
): PartitionPlan {
  const subTopologyOfTopic = new Map<string, number>();
  for (const sub of topology.subTopologies) {
    for (const ref of sub.sourceTopics) subTopologyOfTopic.set(resolveTopic(ref, applicationId), sub.id);
  }
  const writerOf = new Map<string, number>();
  for (const sub of topology.subTopologies) {
    for (const name of sub.nodes) {
      const node = topology.nodes.get(name);
      if (node?.kind === 'sink' && node.topic?.kind === 'repartition') {
        writerOf.set(resolveTopic(node.topic, applicationId), sub.id);
      }
    }
  }
  const repartition = new Map<string, number>();
  for (const spec of topology.repartitionTopics) {
    if (spec.partitions !== undefined)
      repartition.set(resolveTopic({ kind: 'repartition', name: spec.name }, applicationId), spec.partitions);
  }
  const counts = new Map<number, number>();
  // Each pass fixes at least one more sub-topology or repartition topic; the graph is acyclic.
  for (let pass = 0; pass <= topology.subTopologies.length + topology.repartitionTopics.length; pass += 1) {
    for (const sub of topology.subTopologies) {
      const known = sub.sourceTopics.flatMap((ref) => {
        const topic = resolveTopic(ref, applicationId);
        const count = ref.kind === 'external' ? externalPartitions.get(topic) : repartition.get(topic);
        if (ref.kind === 'external' && count === undefined) {
          throw new TopologyDefinitionError(`source topic ${topic} does not exist`);
        }
        return count === undefined ? [] : [{ topic, count }];
      });
      const distinct = new Set(known.map((k) => k.count));
      if (distinct.size > 1) {
        throw new CoPartitioningError(
          `sub-topology ${sub.id} joins or merges topics that are not co-partitioned: ${known
            .map((k) => `${k.topic} (${k.count} partitions)`)
            .join(', ')}`,
        );
      }
      const count = known[0]?.count;
      if (count === undefined) continue;
      counts.set(sub.id, count);
      for (const ref of sub.sourceTopics) {
        if (ref.kind === 'repartition') {
          const topic = resolveTopic(ref, applicationId);
          if (!repartition.has(topic)) repartition.set(topic, count);
        }
      }
    }
    // A sub-topology none of whose sources is sized yet reads only repartition topics: size them
    // all from the largest count of the sub-topologies writing them (as Kafka Streams does), which
    // keeps them co-partitioned.
    for (const reader of topology.subTopologies) {
      if (counts.has(reader.id)) continue;
      const topics = reader.sourceTopics.map((ref) => resolveTopic(ref, applicationId));
      if (reader.sourceTopics.some((ref) => ref.kind !== 'repartition')) continue;
      const writerCounts = topics.map((topic) => counts.get(writerOf.get(topic) ?? -1));
      if (writerCounts.some((count) => count === undefined)) continue;
      const count = Math.max(...(writerCounts as number[]));
      for (const topic of topics) if (!repartition.has(topic)) repartition.set(topic, count);
    }
  }
  for (const sub of topology.subTopologies) {
    if (!counts.has(sub.id)) throw new TopologyDefinitionError(`cannot size sub-topology ${sub.id}`);
  }
  return { subTopologyPartitions: counts, repartitionPartitions: repartition, subTopologyOfTopic };
}
