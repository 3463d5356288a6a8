import { randomUUID } from 'node:crypto';
import { ConfigResourceTypes, Kafka, logLevel, type Admin } from 'kafkajs';
import pino from 'pino';
import { loadConfig } from '../../config/config';
import { stackSettingsFromEnv } from '../../infra/stack-settings';
import {
  ensureTopics,
  PRODUCT_TOPICS,
  productTopicSpecs,
  TopicPartitionsError,
  type TopicSpec,
} from '../../sinks/kafka/topics';

// Against the local stack's broker; every topic carries a per-run prefix so runs and the app never meet.
const settings = stackSettingsFromEnv();
const kafka = new Kafka({
  clientId: 'stacklens-topics-it',
  brokers: [`${settings.host}:${settings.kafkaPort}`],
  logLevel: logLevel.WARN,
});
const run = randomUUID().slice(0, 8);
const DAY_MS = 86_400_000;

describe('ensureTopics', () => {
  let admin: Admin;
  const created: string[] = [];

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    if (created.length > 0) await admin.deleteTopics({ topics: created });
    await admin.disconnect();
  });

  async function topicState(
    topics: string[],
  ): Promise<Map<string, { partitions: number; retentionMs: number }>> {
    const metadata = await admin.fetchTopicMetadata({ topics });
    const configs = await admin.describeConfigs({
      includeSynonyms: false,
      resources: topics.map((name) => ({
        type: ConfigResourceTypes.TOPIC,
        name,
        configNames: ['retention.ms'],
      })),
    });
    return new Map(
      topics.map((topic) => [
        topic,
        {
          partitions: metadata.topics.find((t) => t.name === topic)!.partitions.length,
          retentionMs: Number(
            configs.resources.find((r) => r.resourceName === topic)!.configEntries[0]!.configValue,
          ),
        },
      ]),
    );
  }

  it("creates the product topics with the seeds' partitions and retention, then finds them", async () => {
    const prefix = `it-topics-${run}-`;
    const specs = productTopicSpecs(loadConfig({}).topics, { prefix });
    expect(specs.map((s) => s.topic)).toEqual(Object.values(PRODUCT_TOPICS).map((t) => `${prefix}${t}`));

    const first = await ensureTopics(admin, specs);
    created.push(...first.created);
    expect(first).toEqual({ created: specs.map((s) => s.topic), existing: [], mismatches: [] });

    const actual = await topicState(specs.map((s) => s.topic));
    expect(Object.fromEntries(actual)).toEqual({
      [`${prefix}otel-logs`]: { partitions: 3, retentionMs: 7 * DAY_MS },
      [`${prefix}otel-traces`]: { partitions: 3, retentionMs: 7 * DAY_MS },
      [`${prefix}stacklens-enriched`]: { partitions: 3, retentionMs: 3 * DAY_MS },
      [`${prefix}stacklens-alerts`]: { partitions: 1, retentionMs: 30 * DAY_MS },
      [`${prefix}stacklens-log-patterns`]: { partitions: 3, retentionMs: 3 * DAY_MS },
    });

    const second = await ensureTopics(admin, specs);
    expect(second).toEqual({ created: [], existing: specs.map((s) => s.topic), mismatches: [] });
  });

  it('reports, and never alters, an existing topic with fewer partitions or another retention', async () => {
    const topic = `it-topics-small-${run}`;
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'retention.ms', value: String(DAY_MS) }] }],
    });
    created.push(topic);
    const spec: TopicSpec = { topic, partitions: 3, retentionMs: 7 * DAY_MS };
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(JSON.parse(line).msg) });

    const report = await ensureTopics(admin, [spec], { logger });
    expect(report.created).toEqual([]);
    expect(report.mismatches).toEqual([
      expect.objectContaining({ topic, problem: 'fewer-partitions', wanted: 3, actual: 1 }),
      expect.objectContaining({ topic, problem: 'different-retention', wanted: 7 * DAY_MS, actual: DAY_MS }),
    ]);
    expect(warnings).toEqual([
      expect.stringContaining(`topic ${topic} has 1 partitions, 3 are configured`),
      expect.stringContaining(`retention.ms=${DAY_MS}`),
    ]);

    const failing = ensureTopics(admin, [spec], { onFewerPartitions: 'fail' });
    await expect(failing).rejects.toBeInstanceOf(TopicPartitionsError);
    await expect(ensureTopics(admin, [spec], { onFewerPartitions: 'fail' })).rejects.toThrow(
      /topic it-topics-small-\w+ has 1 partitions, 3 are configured/,
    );
    expect((await topicState([topic])).get(topic)).toEqual({ partitions: 1, retentionMs: DAY_MS });
  });
});
