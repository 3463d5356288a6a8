import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { createClient } from '@clickhouse/client';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import * as generatedRoot from '../../processors/otlp/proto';
import { Resource } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Kafka, logLevel, type Admin, type Consumer } from 'kafkajs';
import protobuf from 'protobufjs';
import { Registry } from 'prom-client';
import { NEVER } from 'rxjs';
import { createLogger } from '../../common/logger';
import type { ApiDeps, ApiLimits } from '../../api/deps';
import { kafkaIngestProducer, type KafkaIngestProducer } from '../../api/ingest/kafka-producer';
import { startApi, waitFor, type RunningApi } from '../../api/testing/harness';
import { stackSettingsFromEnv } from '../../infra/stack-settings';

// Ingest over HTTP into the local broker: what the OpenTelemetry JS exporters send lands on the topics,
// one message per request, with a content-type header; JSON logs land as single contract records.
const logger = createLogger({ level: 'silent', format: 'json' });
const settings = stackSettingsFromEnv();
const kafka = new Kafka({
  clientId: 'stacklens-api-ingest-it',
  brokers: [`${settings.host}:${settings.kafkaPort}`],
  logLevel: logLevel.NOTHING,
});
const run = randomUUID().slice(0, 8);
const topics = { logs: `api-it-otel-logs-${run}`, traces: `api-it-otel-traces-${run}` };
const clickhouse = createClient({ url: 'http://127.0.0.1:1' }); // ingest never queries ClickHouse

type Cls = { decode(b: Uint8Array): object; toObject(m: object, o?: object): Record<string, unknown> };
const collector = (
  generatedRoot as unknown as {
    opentelemetry: {
      proto: { collector: { logs: { v1: Record<string, Cls> }; trace: { v1: Record<string, Cls> } } };
    };
  }
).opentelemetry.proto.collector;
const RpcStatus = new protobuf.Type('Status')
  .add(new protobuf.Field('code', 1, 'int32'))
  .add(new protobuf.Field('message', 2, 'string'));

interface Received {
  topic: string;
  value: Buffer;
  contentType: string;
}

describe('ingest over HTTP', () => {
  let admin: Admin;
  let producer: KafkaIngestProducer;
  let consumer: Consumer;
  let api: RunningApi;
  const received: Received[] = [];
  const deps = (overrides: Partial<ApiDeps> & { limits?: Partial<ApiLimits> } = {}): ApiDeps => ({
    clickhouse,
    database: 'stacklens',
    live: { logs$: NEVER, alerts$: NEVER },
    ingest: producer,
    probes: {},
    registry: new Registry(),
    auth: { kind: 'none' },
    logger,
    topics,
    ...overrides,
  });
  const onTopic = (topic: string) => received.filter((r) => r.topic === topic);

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic: topics.logs, numPartitions: 3 }, { topic: topics.traces }],
    });
    producer = kafkaIngestProducer(
      () =>
        kafka.producer({ idempotent: true, maxInFlightRequests: 1, transactionalId: `api-it-ingest-${run}` }),
      { ackTimeoutMs: 10_000, maxSendBytes: 1_000_000 },
    );
    await producer.connect();
    consumer = kafka.consumer({ groupId: `api-it-ingest-${run}` });
    await consumer.connect();
    await consumer.subscribe({ topics: [topics.logs, topics.traces], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        received.push({
          topic,
          value: message.value ?? Buffer.alloc(0),
          contentType: message.headers?.['content-type']?.toString() ?? '',
        });
      },
    });
    api = await startApi(deps({ limits: { maxOtlpBodyBytes: 256 * 1024 } }));
  }, 90_000);

  afterAll(async () => {
    await api?.close();
    await consumer?.disconnect();
    await producer?.disconnect();
    await admin?.deleteTopics({ topics: [topics.logs, topics.traces] }).catch(() => undefined);
    await admin?.disconnect();
    await clickhouse.close();
  }, 60_000);

  it('accepts logs from the OpenTelemetry JS OTLP/protobuf exporter (gzip) and produces the request to the logs topic', async () => {
    const provider = new LoggerProvider({ resource: new Resource({ 'service.name': 'exporter-test' }) });
    provider.addLogRecordProcessor(
      new SimpleLogRecordProcessor(
        new OTLPLogExporter({ url: `${api.baseUrl}/v1/logs`, compression: 'gzip' as never }),
      ),
    );
    const otelLogger = provider.getLogger('api-it');
    otelLogger.emit({
      body: `hello ${run}`,
      severityNumber: SeverityNumber.WARN,
      severityText: 'WARN',
      attributes: { workflow_id: 'wf-exporter' },
    });
    await provider.forceFlush();
    await waitFor(
      'the exported request on the topic',
      () => onTopic(topics.logs).some((r) => r.contentType === 'application/x-protobuf'),
      30_000,
    );
    const message = onTopic(topics.logs).find((r) => r.contentType === 'application/x-protobuf')!;
    // Produced decompressed: the topic holds the protobuf ExportLogsServiceRequest itself.
    const request = collector.logs.v1.ExportLogsServiceRequest!;
    const decoded = request.toObject(request.decode(message.value), { longs: String }) as {
      resourceLogs: {
        scopeLogs: { logRecords: { body: { stringValue: string }; severityText: string }[] }[];
      }[];
    };
    expect(decoded.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]).toMatchObject({
      body: { stringValue: `hello ${run}` },
      severityText: 'WARN',
    });
    await provider.shutdown();
  });

  it('accepts spans from the OpenTelemetry JS OTLP/protobuf trace exporter', async () => {
    const provider = new BasicTracerProvider({
      resource: new Resource({ 'service.name': 'exporter-test' }),
      spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${api.baseUrl}/v1/traces` }))],
    });
    const tracer = provider.getTracer('api-it');
    const parent = tracer.startSpan(`parent ${run}`);
    parent.end();
    await provider.forceFlush();
    await waitFor('the exported spans on the topic', () => onTopic(topics.traces).length >= 1, 30_000);
    const message = onTopic(topics.traces)[0]!;
    expect(message.contentType).toBe('application/x-protobuf');
    const request = collector.trace.v1.ExportTraceServiceRequest!;
    const decoded = request.toObject(request.decode(message.value)) as {
      resourceSpans: { scopeSpans: { spans: { name: string }[] }[] }[];
    };
    expect(decoded.resourceSpans[0]!.scopeSpans[0]!.spans.map((s) => s.name)).toEqual([`parent ${run}`]);
    await provider.shutdown();
  });

  it('accepts OTLP/JSON and answers in JSON', async () => {
    const body = {
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'snowflake-extractor' } }] },
          scopeLogs: [
            {
              logRecords: [
                {
                  timeUnixNano: '1706961234000000000',
                  severityText: 'INFO',
                  body: { stringValue: `json ${run}` },
                },
              ],
            },
          ],
        },
      ],
    };
    const res = await fetch(`${api.baseUrl}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({});
    await waitFor(
      'the JSON request on the topic',
      () => onTopic(topics.logs).some((r) => r.value.toString().includes(`json ${run}`)),
      30_000,
    );
    expect(onTopic(topics.logs).find((r) => r.value.toString().includes(`json ${run}`))!.contentType).toBe(
      'application/json',
    );
  });

  it('rejects undecodable payloads with 400 and a google.rpc.Status in the request encoding, producing nothing', async () => {
    const before = received.length;
    const proto = await fetch(`${api.baseUrl}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f]),
    });
    expect(proto.status).toBe(400);
    expect(proto.headers.get('content-type')).toMatch(/^application\/x-protobuf/);
    const status = RpcStatus.toObject(RpcStatus.decode(Buffer.from(await proto.arrayBuffer()))) as {
      code: number;
      message: string;
    };
    expect(status.code).toBe(3);
    expect(status.message).toMatch(/not a protobuf OTLP export request/);

    const json = await fetch(`${api.baseUrl}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"resourceLogs": 7}',
    });
    expect(json.status).toBe(400);
    expect(await json.json()).toMatchObject({ code: 3, message: expect.stringContaining('resourceLogs') });

    const text = await fetch(`${api.baseUrl}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'hello',
    });
    expect(text.status).toBe(415);

    // Size limits apply to the decompressed body, so a small gzip bomb is refused too.
    const bomb = gzipSync(Buffer.alloc(1024 * 1024));
    const tooLarge = await fetch(`${api.baseUrl}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: bomb,
    });
    expect(tooLarge.status).toBe(413);
    expect(await tooLarge.json()).toMatchObject({ code: 3 });
    expect(received.length).toBe(before);
  });

  it('POST /api/logs produces one contract record per batch record', async () => {
    const res = await fetch(`${api.baseUrl}/api/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        resource: { service: 'my-service', host: 'my-host', env: 'dev' },
        records: [
          {
            timestamp: '2025-10-15T10:30:00.000Z',
            severity: 'INFO',
            message: `batch-1 ${run}`,
            trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
            circuit_id: 'CIRCUIT-123',
            labels: { operation: 'start' },
          },
          { timestamp: 1760524200000, severity: 'ERROR', message: `batch-2 ${run}` },
        ],
      }),
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: 2 });
    const mine = () =>
      onTopic(topics.logs).filter(
        (r) => r.value.toString().includes(`batch-`) && r.value.toString().includes(run),
      );
    await waitFor('both records on the topic', () => mine().length === 2, 30_000);
    const records = mine().map((r) => JSON.parse(r.value.toString()) as Record<string, unknown>);
    expect(records).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          service: 'my-service',
          level: 'INFO',
          message: `batch-1 ${run}`,
          trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
          attrs: { host: 'my-host', env: 'dev', circuit_id: 'CIRCUIT-123', operation: 'start' },
        }),
        expect.objectContaining({
          level: 'ERROR',
          message: `batch-2 ${run}`,
          timestamp: 1760524200000,
          trace_id: null,
        }),
      ]),
    );
    expect(mine().every((r) => r.contentType === 'application/json')).toBe(true);
  });

  it('POST /api/ingest/log produces the record, and validation errors name the field', async () => {
    const ok = await fetch(`${api.baseUrl}/api/ingest/log`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        timestamp: '2025-01-15T10:30:45.123Z',
        service: 'order-service',
        level: 'error',
        message: `single ${run}`,
        error_code: 'PRICE_MISSING',
        attrs: { custom: 'fields' },
      }),
    });
    expect(ok.status).toBe(202);
    await waitFor(
      'the record on the topic',
      () => onTopic(topics.logs).some((r) => r.value.toString().includes(`single ${run}`)),
      30_000,
    );

    const bad = await fetch(`${api.baseUrl}/api/ingest/log`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        timestamp: '2025-01-15T10:30:45Z',
        service: 'order-service',
        level: 'error',
        message: 'x',
        span_id: 'nothex',
      }),
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({
      error: 'bad_parameter',
      detail: 'span_id: must be 16 hex characters',
    });

    const malformed = await fetch(`${api.baseUrl}/api/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"resource":',
    });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: 'bad_payload' });
  });

  it('fails with 503 (retryable) instead of dropping when Kafka is unreachable', async () => {
    const unreachable = new Kafka({
      clientId: 'unreachable',
      brokers: ['127.0.0.1:1'],
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
      connectionTimeout: 300,
    });
    const down = await startApi(
      deps({
        ingest: kafkaIngestProducer(
          () =>
            unreachable.producer({
              idempotent: true,
              maxInFlightRequests: 1,
              transactionalId: `down-${run}`,
              retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 1_000 },
            }),
          { ackTimeoutMs: 3_000, maxSendBytes: 1_000_000 },
        ),
      }),
    );
    try {
      const otlp = await fetch(`${down.baseUrl}/v1/logs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'm' } }] }] }],
        }),
      });
      expect(otlp.status).toBe(503);
      expect(otlp.headers.get('retry-after')).not.toBeNull();
      expect(await otlp.json()).toMatchObject({ code: 14 });

      const json = await fetch(`${down.baseUrl}/api/ingest/log`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          timestamp: '2025-01-15T10:30:45Z',
          service: 's',
          level: 'info',
          message: 'm',
        }),
      });
      expect(json.status).toBe(503);
      expect(await json.json()).toEqual({
        error: 'dependency_unavailable',
        detail: 'kafka: could not store the request; retry later',
      });
    } finally {
      await down.close();
    }
  });

  it('answers 413, storing nothing, when the broker refuses a message as too large, and stores the requests beside it once', async () => {
    // A topic whose max.message.bytes is below INGEST_MAX_MESSAGE_BYTES: a misconfiguration no retry fixes.
    const smallTopic = `api-it-small-${run}`;
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic: smallTopic, configEntries: [{ name: 'max.message.bytes', value: '20000' }] }],
    });
    const seen: string[] = [];
    const reader = kafka.consumer({ groupId: `api-it-small-${run}` });
    await reader.connect();
    await reader.subscribe({ topics: [smallTopic], fromBeginning: true });
    await reader.run({
      eachMessage: async ({ message }) => {
        seen.push(message.value?.toString() ?? '');
      },
    });
    const small = await startApi(deps({ topics: { logs: smallTopic, traces: topics.traces } }));
    try {
      const request = (body: string) =>
        fetch(`${small.baseUrl}/v1/logs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: body } }] }] }],
          }),
        });
      // Sent together, so they may share one transaction: only the request at fault fails.
      const [big, ok] = await Promise.all([request(`big ${'x'.repeat(50_000)}`), request(`fits ${run}`)]);
      expect(big.status).toBe(413);
      expect(await big.json()).toMatchObject({ code: 3, message: expect.stringMatching(/too large/) });
      expect(ok.status).toBe(200);
      const after = await request(`after ${run}`);
      expect(after.status).toBe(200);
      await waitFor(
        'the accepted requests on the topic',
        () => seen.some((v) => v.includes(`after ${run}`)),
        30_000,
      );
      expect(seen.filter((v) => v.includes(`fits ${run}`))).toHaveLength(1);
      expect(seen.some((v) => v.includes('big '))).toBe(false);
    } finally {
      await small.close();
      await reader.disconnect();
      await admin.deleteTopics({ topics: [smallTopic] }).catch(() => undefined);
    }
  });
});
