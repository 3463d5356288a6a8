import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';

/**
 * A kafkajs partition assigner that keeps the partitions of one task together: partition p of all
 * source topics of a sub-topology goes to the same member (co-partitioned joins need it; kafkajs's
 * round-robin assigner would split them). Tasks are dealt round-robin over the sorted members.
 */
export function taskAssignor(subTopologyOfTopic: ReadonlyMap<string, number>): PartitionAssigner {
  return ({ cluster }) => ({
    name: 'StackLensTaskAssignor',
    version: 1,
    async assign({ members, topics }) {
      const memberIds = members.map((m) => m.memberId).sort();
      const tasks = new Map<string, { topic: string; partition: number }[]>();
      for (const topic of [...topics].sort()) {
        for (const { partitionId } of cluster.findTopicPartitionMetadata(topic)) {
          const taskId = `${subTopologyOfTopic.get(topic) ?? topic}_${partitionId}`;
          tasks.set(taskId, [...(tasks.get(taskId) ?? []), { topic, partition: partitionId }]);
        }
      }
      const assignment = new Map<string, Record<string, number[]>>(memberIds.map((id) => [id, {}]));
      [...tasks.keys()].sort(compareTaskIds).forEach((taskId, i) => {
        const member = assignment.get(memberIds[i % memberIds.length] as string) as Record<string, number[]>;
        for (const { topic, partition } of tasks.get(taskId) ?? [])
          member[topic] = [...(member[topic] ?? []), partition];
      });
      return [...assignment].map(([memberId, topicPartitions]) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 1,
          assignment: topicPartitions,
          userData: Buffer.alloc(0),
        }),
      }));
    },
    protocol({ topics }) {
      return {
        name: 'StackLensTaskAssignor',
        metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }),
      };
    },
  });
}

/** Orders `${sub}_${partition}` ids by sub-topology, then partition, so each sub-topology is spread over members. */
function compareTaskIds(a: string, b: string): number {
  const split = (id: string): [string, number] => {
    const at = id.lastIndexOf('_');
    return [id.slice(0, at), Number(id.slice(at + 1))];
  };
  const [subA, pA] = split(a);
  const [subB, pB] = split(b);
  return subA.localeCompare(subB, 'en', { numeric: true }) || pA - pB;
}
