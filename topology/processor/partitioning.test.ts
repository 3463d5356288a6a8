import { randomBytes } from 'node:crypto';
import { Partitioners, type PartitionerArgs } from 'kafkajs';
import { murmur2, murmur2Partitioner } from './partitioning';

/** Kafka's own vectors (clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java, testMurmur2). */
const JAVA_VECTORS: [string, number][] = [
  ['21', -973932308],
  ['foobar', -790332482],
  ['a-little-bit-long-string', -985981536],
  ['a-little-bit-longer-string', -1486304829],
  ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
  ['abc', 479470107],
];

const metadata = (partitions: number): PartitionerArgs['partitionMetadata'] =>
  Array.from({ length: partitions }, (_, partitionId) => ({
    partitionId,
    leader: 1,
    partitionErrorCode: 0,
    replicas: [1],
    isr: [1],
  }));

describe('murmur2', () => {
  it.each(JAVA_VECTORS)('hashes %j as the Java client does', (key, hash) => {
    expect(murmur2(Buffer.from(key))).toBe(hash);
  });

  it('places every key on the partition kafkajs’s default partitioner picks', () => {
    const ours = murmur2Partitioner();
    const theirs = Partitioners.DefaultPartitioner();
    for (let i = 0; i < 2_000; i += 1) {
      const key = randomBytes(i % 67);
      const args = { topic: 't', partitionMetadata: metadata(1 + (i % 12)), message: { key, value: null } };
      expect(ours(args)).toBe(theirs(args));
    }
  });

  it('keeps an explicit partition and spreads keyless records over the partitions', () => {
    const partition = murmur2Partitioner();
    const partitionMetadata = metadata(4);
    expect(
      partition({ topic: 't', partitionMetadata, message: { key: 'k', value: null, partition: 3 } }),
    ).toBe(3);
    const seen = new Set<number>();
    for (let i = 0; i < 8; i += 1)
      seen.add(partition({ topic: 't', partitionMetadata, message: { value: null } }));
    expect(seen).toEqual(new Set([0, 1, 2, 3]));
  });
});
