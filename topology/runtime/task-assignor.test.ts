import { AssignerProtocol, type Cluster, type PartitionAssigner } from 'kafkajs';
import { taskAssignor } from './task-assignor';

function assign(members: string[], partitions: Record<string, number>, subOf: Record<string, number>) {
  const cluster = {
    findTopicPartitionMetadata: (topic: string) =>
      Array.from({ length: partitions[topic] ?? 0 }, (_, partitionId) => ({ partitionId })),
  } as unknown as Cluster;
  const assigner = taskAssignor(new Map(Object.entries(subOf)))({
    cluster,
  } as Parameters<PartitionAssigner>[0]);
  return assigner
    .assign({
      members: members.map((memberId) => ({ memberId, memberMetadata: Buffer.alloc(0) })),
      topics: Object.keys(partitions),
    })
    .then((result) =>
      Object.fromEntries(
        result.map((r) => [
          r.memberId,
          AssignerProtocol.MemberAssignment.decode(r.memberAssignment)?.assignment,
        ]),
      ),
    );
}

describe('taskAssignor', () => {
  it('keeps partition p of all topics of a sub-topology on one member and spreads each sub-topology', async () => {
    const result = await assign(['m2', 'm1'], { a: 2, b: 2, r: 2 }, { a: 0, b: 0, r: 1 });
    expect(result).toEqual({
      m1: { a: [0], b: [0], r: [0] },
      m2: { a: [1], b: [1], r: [1] },
    });
  });

  it('gives every task to the only member', async () => {
    const result = await assign(['solo'], { a: 3 }, { a: 0 });
    expect(result).toEqual({ solo: { a: [0, 1, 2] } });
  });
});
