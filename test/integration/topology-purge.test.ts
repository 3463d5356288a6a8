import { ConfigResourceTypes, type Kafka } from 'kafkajs';
import {
  keyValueStoreSpec,
  TopologyBuilder,
  type Processor,
  type ProcessorContext,
  type StreamRecord,
  type Topology,
} from '../../topology';
import { StreamsApp } from '../../topology/runtime/streams-app';
import { repartitionTopicName } from '../../topology/topology';
import {
  BROKERS,
  createTopics,
  newRegistry,
  produce,
  quietLogger,
  readTopic,
  testKafka,
  uniqueName,
} from '../support/topology-kafka';
import { waitFor } from '../support/wait-for';

jest.setTimeout(180_000);

const GROUPS = 7;
const CHUNK = 1_000;

interface Input {
  readonly id: number;
  readonly group: string;
}

class CountPerGroup implements Processor<string, Input, string, { id: number; count: number }> {
  private context!: ProcessorContext<string, { id: number; count: number }>;

  init(context: ProcessorContext<string, { id: number; count: number }>): void {
    this.context = context;
  }

  process(record: StreamRecord<string, Input>): void {
    const store = this.context.keyValueStore<string, number>('counts');
    const count = (store.get(record.key) ?? 0) + 1;
    store.put(record.key, count);
    this.context.forward({ ...record, value: { id: record.value.id, count } });
  }
}

/** Re-keys by group through a repartition topic, then counts per group: outputs name id and count. */
function countTopology(input: string, output: string): Topology {
  const builder = new TopologyBuilder();
  builder.addStateStore(keyValueStoreSpec<string, number>('counts'));
  builder
    .stream<string, Input>('in', input)
    .selectKey('by-group', (r) => r.value.group)
    .repartition('by-group')
    .process('count', () => new CountPerGroup(), { stores: ['counts'] })
    .to('out', output);
  return builder.build();
}

function chunk(from: number) {
  return Array.from({ length: CHUNK }, (_, i) => ({
    key: JSON.stringify(`r${from + i}`),
    value: JSON.stringify({ id: from + i, group: `g${(from + i) % GROUPS}` } satisfies Input),
  }));
}

/** Per partition of `topic`: its low watermark and the group's committed offset there (-1: none). */
async function purgeState(kafka: Kafka, groupId: string, topic: string) {
  const admin = kafka.admin();
  await admin.connect();
  try {
    // The low watermark first: the committed offset only moves on, so a purge past it shows.
    const lows = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return lows.map((p) => ({
      partition: p.partition,
      low: Number(p.low),
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

/** How often each input id appears in the output, and each group's counts. */
function analyse(records: { key: string | null; value: string | null }[]) {
  const perId = new Map<number, number>();
  const countsPerGroup = new Map<string, number[]>();
  for (const r of records) {
    const out = JSON.parse(r.value!) as { id: number; count: number };
    const group = JSON.parse(r.key!) as string;
    perId.set(out.id, (perId.get(out.id) ?? 0) + 1);
    countsPerGroup.set(group, [...(countsPerGroup.get(group) ?? []), out.count]);
  }
  return { perId, countsPerGroup };
}

describe('topology runtime: committed repartition records are purged', () => {
  it('the repartition topic is purged up to the committed offsets, outputs stay exactly-once across a restart', async () => {
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
    const start = async () => {
      const app = new StreamsApp(countTopology(input, output), {
        applicationId: appId,
        instanceId: 'i1',
        brokers: BROKERS,
        logger: quietLogger(),
        registry: newRegistry(),
        // Many commits, and a purge after each one the previous purge has finished.
        maxInFlightRecords: 200,
        repartitionPurgeIntervalMs: 0,
      });
      await app.start();
      return app;
    };
    const purged = async (): Promise<number> =>
      (await purgeState(kafka, appId, repartition)).reduce((sum, p) => sum + p.low, 0);
    const expectNothingPurgedPastTheCommit = async (): Promise<void> => {
      const state = await purgeState(kafka, appId, repartition);
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

    await produce(kafka, input, chunk(0));
    const first = await start();
    try {
      await readTopic(kafka, output, { until: (records) => records.length >= CHUNK });
      await waitFor('the repartition topic to be purged', async () => (await purged()) > 0, 60_000);
      await expectNothingPurgedPastTheCommit();
    } finally {
      await first.stop();
    }
    const afterFirstRun = await purged();

    await produce(kafka, input, chunk(CHUNK));
    const second = await start();
    try {
      await readTopic(kafka, output, { until: (records) => records.length >= 2 * CHUNK });
      await waitFor(
        'the repartition topic to be purged further',
        async () => (await purged()) > afterFirstRun,
        60_000,
      );
      await expectNothingPurgedPastTheCommit();
    } finally {
      await second.stop();
    }

    // Small segments, so that what is purged leaves the disk soon (the broker deletes whole segments).
    expect(await topicConfig(kafka, repartition, 'segment.bytes')).toBe('52428800');
    // Only the repartition topic: the input, which other consumers may read, keeps every record.
    expect((await purgeState(kafka, appId, input)).map((p) => p.low)).toEqual([0, 0, 0]);
    const { perId, countsPerGroup } = analyse(await readTopic(kafka, output));
    expect(perId.size).toBe(2 * CHUNK);
    expect([...perId.values()].filter((n) => n !== 1)).toEqual([]);
    for (const [group, counts] of countsPerGroup) {
      const members = Array.from({ length: 2 * CHUNK }, (_, id) => id).filter(
        (id) => `g${id % GROUPS}` === group,
      ).length;
      expect({ group, counts: [...counts].sort((a, b) => a - b) }).toEqual({
        group,
        counts: Array.from({ length: members }, (_, i) => i + 1),
      });
    }
  });
});
