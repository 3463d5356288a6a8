import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, Partitioners, type Admin } from 'kafkajs';
import { BrokerBaselineError, runBrokerBaseline } from '../../bench/broker-baseline';
import { kafkaBootstrap } from '../../infra/services/kafka';
import { stackSettingsFromEnv } from '../../infra/stack-settings';

// Runs the broker's ConsumerPerformance from the local stack's jars against small topics of its own.
const settings = stackSettingsFromEnv();
const bootstrap = kafkaBootstrap(settings);
const kafka = new Kafka({ clientId: 'stacklens-baseline-it', brokers: [bootstrap], logLevel: logLevel.WARN });
const run = randomUUID().slice(0, 8);
const topics = [`it-baseline-a-${run}`, `it-baseline-b.${run}`];

describe('runBrokerBaseline', () => {
  let admin: Admin;

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: topics.map((topic) => ({ topic, numPartitions: 2 })),
    });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    for (const topic of topics) {
      await producer.send({
        topic,
        messages: Array.from({ length: 1_000 }, (_, i) => ({ key: String(i), value: 'x'.repeat(200) })),
      });
    }
    await producer.disconnect();
  });

  afterAll(async () => {
    await admin.deleteTopics({ topics });
    await admin.disconnect();
  });

  it('reads every record of the given topics and returns positive figures', async () => {
    const baseline = await runBrokerBaseline({ settings, bootstrap, topics });
    expect(baseline.records).toBe(2_000);
    expect(baseline.megabytes).toBeGreaterThan(0.38);
    for (const figure of [
      baseline.elapsedMs,
      baseline.recordsPerSecond,
      baseline.megabytesPerSecond,
      baseline.fetchRecordsPerSecond,
      baseline.fetchMegabytesPerSecond,
    ]) {
      expect(figure).toBeGreaterThan(0);
    }
    expect(baseline.elapsedMs).toBe(baseline.rebalanceMs + baseline.fetchMs);
  });

  it('fails rather than report figures that include an idle wait for records that never come', async () => {
    await expect(
      runBrokerBaseline({ settings, bootstrap, topics: [topics[0]!], records: 1_500, idleTimeoutMs: 1_000 }),
    ).rejects.toThrow(BrokerBaselineError);
  });
});
