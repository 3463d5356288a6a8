import { randomUUID } from 'node:crypto';
import {
  Kafka,
  Partitioners,
  logLevel,
  type Admin,
  type Consumer,
  type KafkaMessage,
  type Producer,
} from 'kafkajs';
import { stackSettingsFromEnv } from '../../infra/stack-settings';
import { waitFor } from '../support/wait-for';

// Runs against the local stack's broker (started by the global setup) with the client the app uses:
// every request kind StackLens relies on must be accepted by the Kafka version the stack installs.
const settings = stackSettingsFromEnv();
const kafka = new Kafka({
  clientId: 'stacklens-kafka-it',
  brokers: [`${settings.host}:${settings.kafkaPort}`],
  logLevel: logLevel.WARN,
});
const run = randomUUID().slice(0, 8);

async function committedOffset(admin: Admin, groupId: string, topic: string): Promise<string | undefined> {
  const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return offsets?.partitions.find((p) => p.partition === 0)?.offset;
}

/** Subscribes a new consumer and collects the values it receives, in order. */
async function collect(consumer: Consumer, topic: string): Promise<string[]> {
  const values: string[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ message }: { message: KafkaMessage }) => {
      values.push(message.value?.toString() ?? '');
    },
  });
  return values;
}

describe('local Kafka broker with kafkajs', () => {
  let admin: Admin;
  const clients: Array<Consumer | Producer> = [];
  const topics: string[] = [];

  async function createTopic(name: string): Promise<string> {
    const topic = `it-${name}-${run}`;
    await admin.createTopics({
      topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    topics.push(topic);
    return topic;
  }

  function track<T extends Consumer | Producer>(client: T): T {
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    for (const client of clients) await client.disconnect();
    if (topics.length > 0) await admin.deleteTopics({ topics });
    await admin.disconnect();
  });

  it('creates a topic, produces, consumes in a group and commits offsets', async () => {
    const topic = await createTopic('plain');
    expect(await admin.listTopics()).toContain(topic);

    const producer = track(kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner }));
    await producer.connect();
    await producer.send({ topic, messages: ['a', 'b', 'c'].map((value) => ({ key: value, value })) });

    const groupId = `it-plain-group-${run}`;
    const consumer = track(kafka.consumer({ groupId }));
    const received = await collect(consumer, topic);
    await waitFor('three records', () => received.length >= 3);
    expect(received).toEqual(['a', 'b', 'c']);

    await consumer.commitOffsets([{ topic, partition: 0, offset: '3' }]);
    expect(await committedOffset(admin, groupId, topic)).toBe('3');

    const { groups } = await admin.describeGroups([groupId]);
    expect(groups[0]).toMatchObject({ groupId, state: 'Stable', protocolType: 'consumer' });
    expect(groups[0]!.members).toHaveLength(1);
  });

  it('commits consumed offsets with a transaction, and a read_committed consumer sees only the committed output', async () => {
    const input = await createTopic('tx-in');
    const output = await createTopic('tx-out');
    const groupId = `it-tx-group-${run}`;

    const plain = track(kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner }));
    await plain.connect();
    await plain.send({ topic: input, messages: [{ value: 'first' }, { value: 'second' }] });

    // Consume-transform-produce as the stream processor does: the input consumer stays in its group
    // while the transactional producer commits the group's offsets along with the output.
    const consumer = track(kafka.consumer({ groupId }));
    const inputs = await collect(consumer, input);
    await waitFor('both input records', () => inputs.length >= 2);

    const producer = track(
      kafka.producer({
        transactionalId: `it-tx-${run}`,
        idempotent: true,
        maxInFlightRequests: 1,
        createPartitioner: Partitioners.DefaultPartitioner,
      }),
    );
    await producer.connect();

    const aborted = await producer.transaction();
    await aborted.send({ topic: output, messages: [{ value: 'aborted' }] });
    await aborted.sendOffsets({
      consumerGroupId: groupId,
      topics: [{ topic: input, partitions: [{ partition: 0, offset: '1' }] }],
    });
    await aborted.abort();
    expect(await committedOffset(admin, groupId, input)).toBe('-1');

    const committed = await producer.transaction();
    await committed.send({ topic: output, messages: [{ value: 'committed' }] });
    await committed.sendOffsets({
      consumerGroupId: groupId,
      topics: [{ topic: input, partitions: [{ partition: 0, offset: '2' }] }],
    });
    await committed.commit();
    await waitFor(
      'the transactional offset commit',
      async () => (await committedOffset(admin, groupId, input)) === '2',
    );

    // The aborted record precedes the committed one in the partition, so once read_committed has
    // delivered 'committed' it has already skipped whatever it was going to skip.
    const readCommitted = track(kafka.consumer({ groupId: `it-rc-group-${run}`, readUncommitted: false }));
    const committedView = await collect(readCommitted, output);
    await waitFor('the committed record (read_committed)', () => committedView.includes('committed'));
    expect(committedView).toEqual(['committed']);

    // Control: the aborted record really is in the log, which read_uncommitted shows.
    const readUncommitted = track(kafka.consumer({ groupId: `it-ru-group-${run}`, readUncommitted: true }));
    const uncommittedView = await collect(readUncommitted, output);
    await waitFor('the committed record (read_uncommitted)', () => uncommittedView.includes('committed'));
    expect(uncommittedView).toEqual(['aborted', 'committed']);
  });
});
