import { ConfigResourceTypes, type Kafka } from 'kafkajs';
import { repartitionTopicName } from '../../topology/topology';
import {
  exactlyOnceReport,
  fixtureEnv,
  fixtureRecords,
  FixtureProcess,
} from '../support/topology-fixture-process';
import { createTopics, produce, readTopic, testKafka, uniqueName } from '../support/topology-kafka';
import { waitFor } from '../support/wait-for';

jest.setTimeout(240_000);

const GROUPS = 7;
const CHUNK = 1_000;

/** Per partition of `topic`: its low and high watermarks and the group's committed offset (-1: none). */
async function partitionsOf(kafka: Kafka, groupId: string, topic: string) {
  const admin = kafka.admin();
  await admin.connect();
  try {
    // The watermarks first: the committed offset only moves on, so a purge past it shows.
    const offsets = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return offsets.map((p) => ({
      partition: p.partition,
      low: Number(p.low),
      high: Number(p.high),
      committed: Number(committed?.partitions.find((c) => c.partition === p.partition)?.offset ?? -1),
    }));
  } finally {
    await admin.disconnect();
  }
}

/** A topic's configuration value, as the broker reports it. */
async function topicConfig(kafka: Kafka, topic: string, name: string): Promise<string | undefined> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: [name] }],
    });
    return resources[0]?.configEntries.find((e) => e.configName === name)?.configValue;
  } finally {
    await admin.disconnect();
  }
}

describe('topology runtime: committed repartition records are purged', () => {
  it('the repartition topic is purged up to the committed offsets; outputs stay exactly-once across a stop and a kill -9', async () => {
    const kafka = testKafka();
    const [input, output, appId] = ['purge-in', 'purge-out', 'purge-app'].map(uniqueName) as [
      string,
      string,
      string,
    ];
    const repartition = repartitionTopicName(appId, 'by-group');
    await createTopics(kafka, [
      { topic: input, partitions: 3 },
      { topic: output, partitions: 1 },
    ]);
    // A purge after every commit that finds the previous purge done (the fixture commits often).
    const env = fixtureEnv({ appId, input, output }, 'only', { FIXTURE_PURGE_INTERVAL_MS: '0' });
    const purged = async (): Promise<number> =>
      (await partitionsOf(kafka, appId, repartition)).reduce((sum, p) => sum + p.low, 0);
    const expectNothingPurgedPastTheCommit = async (): Promise<void> => {
      const state = await partitionsOf(kafka, appId, repartition);
      console.log(
        `repartition partitions (low watermark / committed offset): ${state.map((p) => `${p.low}/${p.committed}`).join(', ')}`,
      );
      for (const p of state) {
        expect({ partition: p.partition, low: p.low }).toEqual({
          partition: p.partition,
          low: Math.min(p.low, Math.max(0, p.committed)),
        });
      }
    };
    const outputCount = async (): Promise<number> =>
      (await partitionsOf(kafka, appId, output)).reduce((sum, p) => sum + p.high, 0);

    // 1. A run to the end of its input, then a clean stop.
    await produce(kafka, input, fixtureRecords(0, CHUNK, GROUPS));
    const first = new FixtureProcess(env);
    await readTopic(kafka, output, { until: (records) => records.length >= CHUNK });
    await waitFor('the repartition topic to be purged', async () => (await purged()) > 0, 60_000);
    await expectNothingPurgedPastTheCommit();
    first.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const afterFirstRun = await purged();

    // 2. A run killed with SIGKILL in the middle of its input.
    await produce(kafka, input, fixtureRecords(CHUNK, CHUNK, GROUPS));
    const killed = new FixtureProcess(env);
    const before = await outputCount();
    await waitFor('the second run to make progress', async () => (await outputCount()) > before, 90_000);
    await produce(kafka, input, fixtureRecords(2 * CHUNK, CHUNK, GROUPS));
    killed.kill('SIGKILL');
    expect(await killed.exited).toBeNull();

    // 3. A run that takes over from the committed offsets, over what was purged.
    const total = 3 * CHUNK;
    const last = new FixtureProcess(env);
    await readTopic(kafka, output, {
      until: (records) => exactlyOnceReport(records, total, GROUPS).ids >= total,
      timeoutMs: 120_000,
    });
    await waitFor(
      'the repartition topic to be purged further',
      async () => (await purged()) > afterFirstRun,
      60_000,
    );
    await expectNothingPurgedPastTheCommit();
    last.kill('SIGTERM');
    expect(await last.exited).toBe(0);

    const outputs = await readTopic(kafka, output);
    expect({ outputs: outputs.length, ...exactlyOnceReport(outputs, total, GROUPS) }).toEqual({
      outputs: total,
      ids: total,
      duplicated: 0,
      groupsCounted: true,
    });
    // Small segments, so that what is purged leaves the disk soon (the broker deletes whole segments).
    expect(await topicConfig(kafka, repartition, 'segment.bytes')).toBe('52428800');
    // Records of old events stay until purged: the broker's time retention would delete them unread.
    expect(await topicConfig(kafka, repartition, 'retention.ms')).toBe('-1');
    // Only the repartition topic: the input, which other consumers may read, keeps every record.
    expect((await partitionsOf(kafka, appId, input)).map((p) => p.low)).toEqual([0, 0, 0]);
  });
});
