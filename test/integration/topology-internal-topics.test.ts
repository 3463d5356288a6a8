import type { Kafka } from 'kafkajs';
import { ConfigResourceTypes } from 'kafkajs';
import pino from 'pino';
import { TopologyBuilder, type Topology } from '../../topology';
import { StreamsApp } from '../../topology/runtime/streams-app';
import { createTopics, testAppOptions, testKafka, uniqueName } from '../support/topology-kafka';

jest.setTimeout(120_000);

function rekeyTopology(input: string): Topology {
  const builder = new TopologyBuilder();
  builder
    .stream<string, string>('in', input)
    .selectKey('rekey', (r) => r.value)
    .repartition('by-key')
    .process('sink', () => ({ init: () => undefined, process: () => undefined }));
  return builder.build();
}

async function retentionOf(kafka: Kafka, topic: string): Promise<string | undefined> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms'] }],
    });
    return resources[0]?.configEntries.find((e) => e.configName === 'retention.ms')?.configValue;
  } finally {
    await admin.disconnect();
  }
}

/** Starts and stops the app; returns the warnings it logged meanwhile. */
async function warningsOfStart(topology: Topology, applicationId: string): Promise<string[]> {
  const warnings: string[] = [];
  const logger = pino(
    { level: 'warn' },
    { write: (line: string) => warnings.push((JSON.parse(line) as { msg: string }).msg) },
  );
  const app = new StreamsApp(
    topology,
    testAppOptions(applicationId, {
      logger,
    }),
  );
  await app.start();
  await app.stop();
  return warnings;
}

describe('internal topics created by an earlier version', () => {
  let kafka: Kafka;
  beforeAll(() => {
    kafka = testKafka();
  });

  it('warns of a repartition topic with time retention, with the command that fixes it, and leaves it as it is', async () => {
    const [input, appId] = ['itopics-in', 'itopics-app'].map(uniqueName) as [string, string];
    const repartition = `${appId}-by-key-repartition`;
    // As an earlier version created it: the broker's time retention, which deletes old events unread.
    await createTopics(kafka, [
      { topic: input, partitions: 2 },
      {
        topic: repartition,
        partitions: 2,
        config: { 'segment.bytes': '52428800', 'retention.ms': '604800000' },
      },
    ]);
    const warnings = await warningsOfStart(rekeyTopology(input), appId);
    expect(warnings.filter((w) => w.includes(repartition))).toEqual([
      expect.stringContaining(`has retention.ms=604800000, the runtime creates it with -1`),
    ]);
    expect(warnings.find((w) => w.includes(repartition))).toContain(
      `--entity-name ${repartition} --add-config retention.ms=-1`,
    );
    expect(await retentionOf(kafka, repartition)).toBe('604800000');
  });

  it('says nothing of the repartition topics it creates itself', async () => {
    const [input, appId] = ['itopics-new-in', 'itopics-new-app'].map(uniqueName) as [string, string];
    await createTopics(kafka, [{ topic: input, partitions: 2 }]);
    const warnings = await warningsOfStart(rekeyTopology(input), appId);
    expect(warnings.filter((w) => w.includes('internal topic'))).toEqual([]);
    expect(await retentionOf(kafka, `${appId}-by-key-repartition`)).toBe('-1');
  });
});
