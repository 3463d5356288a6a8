import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, Partitioners, logLevel, type Admin, type Consumer, type Producer } from 'kafkajs';
import { startDemoProducers, type DemoProducers } from '../../app/demo/demo-producers';
import { SERVICES, WORKFLOWS } from '../../app/demo/otlp-scenario';
import { createLogger } from '../../common/logger';
import { kafkaBootstrap } from '../../infra/services/kafka';
import { stackSettingsFromEnv } from '../../infra/stack-settings';
import { parseAlertRulesText } from '../../processors';
import { decodeLanded, firedRuleIds, type LandedMessage } from '../support/demo-telemetry';
import { waitFor } from '../support/wait-for';

// The demo producers against the local stack's broker: what lands on the topics must be what the
// stream processor's record pipeline reads, with the seeds' services, workflows and errors.
const kafka = new Kafka({
  clientId: 'stacklens-demo-producers-it',
  brokers: [kafkaBootstrap(stackSettingsFromEnv())],
  logLevel: logLevel.WARN,
});
const run = randomUUID().slice(0, 8);
const topics = { logs: `it-demo-logs-${run}`, traces: `it-demo-traces-${run}` };
const log = createLogger({ level: 'silent', format: 'json' });
const rules = parseAlertRulesText(readFileSync(join(__dirname, '../../config/alert-rules.json'), 'utf8'));

describe('demo producers on the local Kafka', () => {
  let admin: Admin;
  let producer: Producer;
  let consumer: Consumer;
  let demo: DemoProducers | undefined;

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [topics.logs, topics.traces].map((topic) => ({
        topic,
        numPartitions: 3,
        replicationFactor: 1,
      })),
    });
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    consumer = kafka.consumer({ groupId: `it-demo-${run}` });
  }, 60_000);

  afterAll(async () => {
    await demo?.stop();
    await producer?.disconnect();
    await consumer?.disconnect();
    await admin.deleteTopics({ topics: [topics.logs, topics.traces] });
    await admin.disconnect();
  }, 60_000);

  it('produces Collector-like batches that the record pipeline decodes, with errors that alert', async () => {
    const running = startDemoProducers({ producer, topics, rate: 50, log, seed: 42 });
    demo = running;
    // Run until every failure kind and every kind of message was produced (a condition, not a duration).
    await waitFor('every failure kind and message kind', () => {
      const stats = running.stats();
      return (
        Object.values(stats.failedTraces).every((n) => n > 0) &&
        Object.values(stats.sent.messages).every((n) => n > 0)
      );
    });
    await running.stop();
    const stats = running.stats();
    expect(stats.sendErrors).toBe(0);
    expect(stats.skippedTraces).toBe(0);
    const expectedMessages = Object.values(stats.sent.messages).reduce((a, b) => a + b, 0);

    const landed: LandedMessage[] = [];
    await consumer.connect();
    await consumer.subscribe({ topics: [topics.logs, topics.traces], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        landed.push({
          topic,
          partition,
          offset: message.offset,
          key: message.key,
          value: message.value,
          headers: message.headers ?? {},
        });
      },
    });
    await waitFor(`${expectedMessages} messages`, () => landed.length >= expectedMessages);
    expect(landed).toHaveLength(expectedMessages);

    // Every message decodes, with no record skipped.
    const telemetry = decodeLanded(landed, topics.logs);
    expect(telemetry.spans).toHaveLength(stats.sent.spans);
    expect(telemetry.logs).toHaveLength(stats.sent.otlpLogs + stats.sent.jsonLogs);
    expect(telemetry.spans).toHaveLength(stats.traces * 5);

    // Keyless like the Collector's exporter; only the custom logger declares a content-type.
    expect(landed.every((m) => m.key === null)).toBe(true);
    const declared = landed.filter((m) => m.headers['content-type'] !== undefined);
    expect(declared).toHaveLength(stats.sent.messages.json_log);
    expect(declared.every((m) => String(m.headers['content-type']) === 'application/json')).toBe(true);
    const kinds = { otlp_proto: 0, otlp_json: 0, json_log: 0 };
    for (const m of landed) {
      if (m.headers['content-type'] !== undefined) kinds.json_log++;
      else if (m.value?.[0] === 0x7b) kinds.otlp_json++;
      else kinds.otlp_proto++;
    }
    expect(kinds).toEqual(stats.sent.messages);

    expect(new Set(telemetry.spans.map((s) => s.service))).toEqual(new Set(SERVICES));
    expect(new Set(telemetry.logs.map((l) => l.workflow_id))).toEqual(new Set(WORKFLOWS));
    const errorCodes = new Set(
      telemetry.logs.filter((l) => l.severity_number >= 17).map((l) => l.error_code),
    );
    expect(errorCodes).toEqual(new Set(['PAYMENT_FAILURE', 'PRICE_MISSING', 'TIMEOUT']));
    expect(firedRuleIds(telemetry, rules)).toEqual(new Set(rules.byId.keys()));
  }, 120_000);
});
