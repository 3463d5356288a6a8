/**
 * Cost of the API live feed's per-message path with no live client connected: N Confluent-framed Avro
 * enriched logs handed to KafkaLiveFeed's eachMessage (as KafkaJS would), fanned into a LiveChannel with
 * its resume buffer. Needs the local stack's schema registry (STACK_DIR); prints µs per record.
 *
 *   npm run build && STACK_DIR=… node dist/bench/live-feed-decode.js [records] [feed module]
 */
import type { EachMessagePayload, Kafka } from 'kafkajs';
import type { Observable } from 'rxjs';
import { createLogger } from '../common/logger';
import { schemaRegistryUrl } from '../infra/services/schema-registry';
import { stackSettingsFromEnv } from '../infra/stack-settings';
import { LiveChannel } from '../api/live/hub';
import { ENRICHED_LOG_SCHEMA } from '../processors/avro/schemas';
import type { LogRecord } from '../processors/records';
import { registerAvroSchemaSerde, valueSubject } from '../sinks/kafka/avro-serde';
import { createSchemaRegistryClient } from '../sinks/kafka/schema-registry-client';

const records = Number(process.argv[2] ?? 50_000);
const feedModule = process.argv[3] ?? '../api/live/kafka-live-feed';
const topic = 'bench-live-enriched';

function record(i: number): LogRecord {
  return {
    id: `bench:0:${i}:0`,
    source: 'json_log',
    time_unix_nano: `${1_760_000_000_000 + i}000000`,
    observed_time_unix_nano: '0',
    time_ms: 1_760_000_000_000 + i,
    trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
    span_id: '00f067aa0ba902b7',
    trace_flags: 1,
    severity_number: 9,
    severity_text: 'INFO',
    event_name: '',
    body: `GET /api/orders/${i} answered 200 in ${i % 97} ms for customer c-${i % 1000}`,
    resource_schema_url: '',
    resource_attributes: { 'service.name': 'beorn', 'host.name': 'node-1', 'k8s.pod.name': 'beorn-7d9f' },
    scope_name: 'http',
    scope_version: '1.0.0',
    scope_schema_url: '',
    scope_attributes: {},
    log_attributes: { 'http.method': 'GET', 'http.status_code': '200', 'http.route': '/api/orders/:id' },
    service: 'beorn',
    env: 'prod',
    workflow_id: `wf-${i % 50}`,
    circuit_id: '',
    product_id: `p-${i % 300}`,
    resource_id: '',
    resource_type_id: '',
    request_id: `req-${i}`,
    error_code: '',
    gen_ai_input_tokens: 0,
    gen_ai_output_tokens: 0,
    redacted_count: 0,
  };
}

/** Just enough of KafkaJS for the feed to start and hand over its eachMessage. */
function fakeKafka(capture: (each: (p: EachMessagePayload) => Promise<void>) => void): Kafka {
  const consumer = {
    events: { GROUP_JOIN: 'join', CRASH: 'crash' },
    on: () => undefined,
    connect: () => Promise.resolve(),
    subscribe: () => Promise.resolve(),
    run: (options: { eachMessage: (p: EachMessagePayload) => Promise<void> }) => {
      capture(options.eachMessage);
      return Promise.resolve();
    },
    disconnect: () => Promise.resolve(),
  };
  const admin = {
    connect: () => Promise.resolve(),
    fetchTopicOffsets: () => Promise.resolve([{ partition: 0, high: '0', low: '0', offset: '0' }]),
    disconnect: () => Promise.resolve(),
  };
  return { consumer: () => consumer, admin: () => admin } as unknown as Kafka;
}

async function main(): Promise<void> {
  const registry = createSchemaRegistryClient({
    url: schemaRegistryUrl(stackSettingsFromEnv()),
    requestTimeoutMs: 15_000,
  });
  const serde = await registerAvroSchemaSerde<LogRecord>(registry, valueSubject(topic), ENRICHED_LOG_SCHEMA);
  const values = Array.from({ length: 1_000 }, (_, i) => serde.serialize(record(i))!);

  const { KafkaLiveFeed } = (await import(feedModule)) as typeof import('../api/live/kafka-live-feed');
  let eachMessage: ((p: EachMessagePayload) => Promise<void>) | undefined;
  const feed = new KafkaLiveFeed({
    kafka: fakeKafka((each) => (eachMessage = each)),
    groupPrefix: 'bench',
    logsTopic: topic,
    alertsTopic: 'bench-live-alerts',
    registry,
    logger: createLogger({ level: 'silent', format: 'json' }),
  });
  await feed.start();
  // What the API does with the feed: one channel with a resume buffer, here with no client joined.
  const channel = new LiveChannel(feed.logs$ as Observable<unknown>, {
    resumeEvents: 1_000,
    clientBufferBytes: 1 << 20,
  });

  let offset = 0;
  const push = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const value = values[offset % values.length]!;
      await eachMessage!({
        topic,
        partition: 0,
        message: { offset: String(offset++), value, key: null, timestamp: '0', attributes: 0, headers: {} },
        heartbeat: () => Promise.resolve(),
        pause: () => () => undefined,
      } as EachMessagePayload);
    }
  };
  await push(5_000); // warm-up: JIT, schema lookup
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  await push(records);
  const wallUs = Number(process.hrtime.bigint() - start) / 1_000;
  const { user, system } = process.cpuUsage(cpu);
  console.log(
    `${feedModule}: ${records} records, no client: ${(wallUs / records).toFixed(2)} µs/record wall, ` +
      `${((user + system) / records).toFixed(2)} µs/record CPU`,
  );
  channel.close();
  await feed.stop();
}

void main();
