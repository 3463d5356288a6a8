import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { createClient } from '@clickhouse/client';
import * as generatedRoot from '../../processors/otlp/proto';
import { Kafka, logLevel, type Admin, type Consumer } from 'kafkajs';
import { Registry } from 'prom-client';
import { NEVER } from 'rxjs';
import { createLogger } from '../../common/logger';
import type { ApiLimits } from '../../api/deps';
import { kafkaIngestProducer, type KafkaIngestProducer } from '../../api/ingest/kafka-producer';
import { MAX_ANY_VALUE_DEPTH } from '../../api/ingest/limits';
import { startApi, type RunningApi } from '../../api/testing/harness';
import { stackSettingsFromEnv } from '../../infra/stack-settings';
import { waitFor } from '../support/wait-for';

// Hostile ingest requests against a running API producing to the real broker, one per class: a gzip
// bomb, a million empty resources in a small body, oversized and deeply nested bodies, slow uploads and
// aborted ones, invalid records among valid ones. After each, /health answers, and every valid record
// sent around the hostile ones is on the topic.
const logger = createLogger({ level: 'silent', format: 'json' });
const settings = stackSettingsFromEnv();
const kafka = new Kafka({
  clientId: 'stacklens-api-hardening-ingest-it',
  brokers: [`${settings.host}:${settings.kafkaPort}`],
  logLevel: logLevel.NOTHING,
});
const run = randomUUID().slice(0, 8);
const topics = { logs: `api-hi-otel-logs-${run}`, traces: `api-hi-otel-traces-${run}` };
const clickhouse = createClient({ url: 'http://127.0.0.1:1' }); // ingest never queries ClickHouse

type Cls = {
  encode(m: object): { finish(): Uint8Array };
  decode(b: Uint8Array): object;
  fromObject(o: object): object;
  toObject(m: object, o?: object): Record<string, unknown>;
};
const collector = (
  generatedRoot as unknown as {
    opentelemetry: {
      proto: { collector: { logs: { v1: Record<string, Cls> }; trace: { v1: Record<string, Cls> } } };
    };
  }
).opentelemetry.proto.collector;
const LogsRequest = collector.logs.v1.ExportLogsServiceRequest!;
const LogsResponse = collector.logs.v1.ExportLogsServiceResponse!;
const TraceRequest = collector.trace.v1.ExportTraceServiceRequest!;
const proto = (cls: Cls, request: object) => Buffer.from(cls.encode(cls.fromObject(request)).finish());

interface LogsJson {
  resourceLogs?: { scopeLogs?: { logRecords?: { body?: { stringValue?: string } }[] }[] }[];
}

const logsRequest = (records: unknown[]) => ({
  resourceLogs: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'hardening' } }] },
      scopeLogs: [{ scope: { name: 'api-hardening' }, logRecords: records }],
    },
  ],
});
const log = (body: string, extra: object = {}) => ({ body: { stringValue: body }, ...extra });

/** An AnyValue nested `depth` levels deep through key-value lists. */
function nested(depth: number): object {
  let value: object = { stringValue: 'leaf' };
  for (let i = 1; i < depth; i++) value = { kvlistValue: { values: [{ key: `k${i}`, value }] } };
  return value;
}

describe('ingest under hostile requests', () => {
  let admin: Admin;
  let producer: KafkaIngestProducer;
  let consumer: Consumer;
  let api: RunningApi;
  /** Bodies of the log records on the logs topic, from both encodings. */
  const landed: string[] = [];
  const messages: Buffer[] = [];
  const canaries: string[] = [];

  const startIngestApi = (limits: Partial<ApiLimits> = {}) =>
    startApi({
      clickhouse,
      database: 'stacklens',
      live: { logs$: NEVER, alerts$: NEVER },
      ingest: producer,
      probes: {},
      registry: new Registry(),
      auth: { kind: 'none' },
      logger,
      topics,
      limits,
    });

  const post = (base: RunningApi, path: string, contentType: string, body: Buffer | string, headers = {}) =>
    fetch(`${base.baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': contentType, ...headers },
      body,
    });

  /** A valid log sent around every hostile request: each must land. */
  const canary = async (label: string) => {
    const body = `canary ${label} ${run}`;
    const res = await post(api, '/v1/logs', 'application/json', JSON.stringify(logsRequest([log(body)])));
    expect(res.status).toBe(200);
    canaries.push(body);
  };

  const expectHealthy = async (base: RunningApi = api) => {
    const health = await fetch(`${base.baseUrl}/health`);
    expect(health.status).toBe(200);
  };

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic: topics.logs, numPartitions: 3 }, { topic: topics.traces }],
    });
    producer = kafkaIngestProducer(
      () => kafka.producer({ idempotent: true, maxInFlightRequests: 1, transactionalId: `api-hi-${run}` }),
      { ackTimeoutMs: 10_000, maxSendBytes: 1_000_000 },
    );
    await producer.connect();
    consumer = kafka.consumer({ groupId: `api-hi-${run}` });
    await consumer.connect();
    await consumer.subscribe({ topics: [topics.logs, topics.traces], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        if (topic !== topics.logs || message.value === null) return;
        const value = message.value;
        messages.push(value);
        const request =
          message.headers?.['content-type']?.toString() === 'application/json'
            ? (JSON.parse(value.toString()) as LogsJson)
            : (LogsRequest.toObject(LogsRequest.decode(value)) as LogsJson);
        for (const resource of request.resourceLogs ?? [])
          for (const scope of resource.scopeLogs ?? [])
            for (const record of scope.logRecords ?? []) landed.push(record.body?.stringValue ?? '');
      },
    });
    api = await startIngestApi();
  }, 90_000);

  afterAll(async () => {
    await api?.close();
    await consumer?.disconnect();
    await producer?.disconnect();
    await admin?.deleteTopics({ topics: [topics.logs, topics.traces] }).catch(() => undefined);
    await admin?.disconnect();
    await clickhouse.close();
  }, 60_000);

  it('answers a gzip bomb 413 after inflating no more than the limit, in bounded memory', async () => {
    await canary('before bomb');
    // 64 gzip members of 16 MiB of zeros each: 1 GiB inflated from about 1 MiB on the wire.
    const member = gzipSync(Buffer.alloc(16 * 1024 * 1024));
    const bomb = Buffer.concat(Array.from({ length: 64 }, () => member));
    const rssBefore = process.memoryUsage().rss;
    const cpuBefore = process.cpuUsage();
    const res = await post(api, '/v1/logs', 'application/x-protobuf', bomb, { 'content-encoding': 'gzip' });
    const cpu = process.cpuUsage(cpuBefore);
    expect(res.status).toBe(413);
    const status = (await res.arrayBuffer()).byteLength;
    expect(status).toBeGreaterThan(0);
    // Inflating the whole gigabyte would hold it in memory and take seconds of CPU.
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(256 * 1024 * 1024);
    expect((cpu.user + cpu.system) / 1e6).toBeLessThan(3);
    await expectHealthy();
    await canary('after bomb');
  });

  it('answers 413 naming the limit for a million empty resources in a small body', async () => {
    await canary('before empties');
    const empties = Buffer.alloc(2_000_000);
    for (let i = 0; i < empties.length; i += 2) empties[i] = 0x0a; // field 1, length 0: an empty ResourceLogs
    const small = gzipSync(empties);
    expect(small.length).toBeLessThan(16 * 1024);
    const cpuBefore = process.cpuUsage();
    const res = await post(api, '/v1/logs', 'application/x-protobuf', small, { 'content-encoding': 'gzip' });
    const cpu = process.cpuUsage(cpuBefore);
    expect(res.status).toBe(413);
    const Status = (await import('protobufjs')).default;
    const rpcStatus = new Status.Type('Status')
      .add(new Status.Field('code', 1, 'int32'))
      .add(new Status.Field('message', 2, 'string'));
    const decoded = rpcStatus.toObject(rpcStatus.decode(Buffer.from(await res.arrayBuffer()))) as {
      message: string;
    };
    expect(decoded.message).toMatch(/more than 200000 elements.*INGEST_MAX_ITEMS/);
    expect((cpu.user + cpu.system) / 1e6).toBeLessThan(3);

    const json = `{"resourceLogs":[${'{},'.repeat(999_999)}{}]}`;
    const jsonRes = await post(api, '/v1/logs', 'application/json', gzipSync(json), {
      'content-encoding': 'gzip',
    });
    expect(jsonRes.status).toBe(413);
    expect(await jsonRes.json()).toMatchObject({
      code: 3,
      message: expect.stringMatching(/INGEST_MAX_ITEMS/),
    });
    await expectHealthy();
    await canary('after empties');
  });

  it('answers 413 for oversized JSON bodies, declared or streamed, and for deeply nested JSON', async () => {
    await canary('before oversized json');
    const small = await startIngestApi({ maxJsonBodyBytes: 64 * 1024 });
    try {
      const record = (message: string) => ({
        timestamp: '2025-01-15T10:30:45Z',
        service: 's',
        level: 'info',
        message,
      });
      const big = JSON.stringify({ ...record('x'), attrs: { pad: 'y'.repeat(100 * 1024) } });
      const declared = await post(small, '/api/ingest/log', 'application/json', big);
      expect(declared.status).toBe(413);
      expect(await declared.json()).toMatchObject({
        error: 'payload_too_large',
        detail: expect.stringMatching(/65536 bytes/),
      });

      // Without Content-Length the body is cut while it streams in.
      const chunks = [Buffer.from(big.slice(0, 1024)), Buffer.from(big.slice(1024))];
      const streamed = await fetch(`${small.baseUrl}/api/ingest/log`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: new ReadableStream({
          pull(controller) {
            const next = chunks.shift();
            if (next === undefined) controller.close();
            else controller.enqueue(next);
          },
        }),
        duplex: 'half',
      } as RequestInit);
      expect(streamed.status).toBe(413);

      const deep = `{"resource":{"service":"s"},"records":[{"timestamp":1,"message":"m","labels":{"a":${'['.repeat(1_000)}${']'.repeat(1_000)}}}]}`;
      const deepRes = await post(small, '/api/logs', 'application/json', deep);
      expect(deepRes.status).toBe(413);
      expect(await deepRes.json()).toMatchObject({ detail: expect.stringMatching(/nests deeper than/) });

      const ok = await post(
        small,
        '/api/ingest/log',
        'application/json',
        JSON.stringify(record(`ok ${run}`)),
      );
      expect(ok.status).toBe(202);
      await expectHealthy(small);
    } finally {
      await small.close();
    }
    await canary('after oversized json');
  });

  it('answers 413 for AnyValues nested past the bound, in protobuf and JSON', async () => {
    await canary('before nesting');
    const deep = logsRequest([
      log('deep', { attributes: [{ key: 'k', value: nested(MAX_ANY_VALUE_DEPTH + 1) }] }),
    ]);
    const protoRes = await post(api, '/v1/logs', 'application/x-protobuf', proto(LogsRequest, deep));
    expect(protoRes.status).toBe(413);
    const jsonRes = await post(api, '/v1/logs', 'application/json', JSON.stringify(deep));
    expect(jsonRes.status).toBe(413);
    expect(await jsonRes.json()).toMatchObject({ message: expect.stringMatching(/deeper than 32 levels/) });
    // Thousands of levels, which would overflow a recursive decoder's stack.
    let body = Buffer.from([0x0a, 0x00]); // AnyValue { string_value: "" }
    for (let i = 0; i < 5_000; i++) {
      const array = Buffer.concat([Buffer.from([0x0a]), varint(body.length), body]); // ArrayValue.values
      body = Buffer.concat([Buffer.from([0x2a]), varint(array.length), array]); // AnyValue.array_value
    }
    const record = Buffer.concat([Buffer.from([0x2a]), varint(body.length), body]); // LogRecord.body
    const scope = Buffer.concat([Buffer.from([0x12]), varint(record.length), record]);
    const resource = Buffer.concat([Buffer.from([0x12]), varint(scope.length), scope]);
    const request = Buffer.concat([Buffer.from([0x0a]), varint(resource.length), resource]);
    const veryDeep = await post(api, '/v1/logs', 'application/x-protobuf', request);
    expect(veryDeep.status).toBe(413);
    await expectHealthy();
    await canary('after nesting');
  });

  it('cuts off slow uploads with 408 and frees their slots, while a normal request still succeeds', async () => {
    const slow = await startIngestApi({ maxInflightIngest: 2, bodyTimeoutMs: 1_500 });
    try {
      const port = Number(new URL(slow.baseUrl).port);
      // Two slow-loris uploads take both ingest slots: headers, a few bytes of body, then nothing.
      const loris = await Promise.all([openSlowUpload(port), openSlowUpload(port)]);
      const refused = await post(
        slow,
        '/v1/logs',
        'application/json',
        JSON.stringify(logsRequest([log('x')])),
      );
      expect(refused.status).toBe(429);
      for (const upload of loris) {
        await waitFor('the slow upload to be cut off', () => upload.closed, 30_000);
        expect(upload.response).toMatch(/^HTTP\/1\.1 408/);
        expect(upload.response).toMatch(/INGEST_BODY_TIMEOUT_SECONDS/);
      }
      // A client that goes away mid-body frees its slot too.
      const aborted = await openSlowUpload(port);
      aborted.socket.destroy();
      const body = `after slow uploads ${run}`;
      let status = 0;
      await waitFor('the slots to be free again', async () => {
        status = (await post(slow, '/v1/logs', 'application/json', JSON.stringify(logsRequest([log(body)]))))
          .status;
        return status === 200;
      });
      canaries.push(body);
      await expectHealthy(slow);
    } finally {
      await slow.close();
    }
  });

  it('reports partial_success for invalid records and produces the valid ones around them', async () => {
    const tight = await startIngestApi({ maxMessageBytes: 64 * 1024 });
    try {
      const valid = [1, 2, 3].map((i) => `valid ${i} ${run}`);
      const request = logsRequest([
        log(valid[0]!, { traceId: Buffer.alloc(16, 1), spanId: Buffer.alloc(8, 2) }),
        log('bad trace id', { traceId: Buffer.alloc(5, 1) }),
        log(valid[1]!),
        log('x'.repeat(100 * 1024)),
        log('bad span id', { spanId: Buffer.alloc(3, 1) }),
        log(valid[2]!),
      ]);
      const res = await post(tight, '/v1/logs', 'application/x-protobuf', proto(LogsRequest, request));
      expect(res.status).toBe(200);
      const response = LogsResponse.toObject(LogsResponse.decode(Buffer.from(await res.arrayBuffer())), {
        longs: Number,
      }) as { partialSuccess: { rejectedLogRecords: number; errorMessage: string } };
      expect(response.partialSuccess.rejectedLogRecords).toBe(3);
      expect(response.partialSuccess.errorMessage).toMatch(/3 log records rejected/);
      expect(response.partialSuccess.errorMessage).toMatch(/trace_id is 5 bytes/);
      expect(response.partialSuccess.errorMessage).toMatch(/span_id is 3 bytes/);
      expect(response.partialSuccess.errorMessage).toMatch(/INGEST_MAX_MESSAGE_BYTES/);
      canaries.push(...valid);

      const jsonValid = `json valid ${run}`;
      const jsonRes = await post(
        tight,
        '/v1/logs',
        'application/json',
        JSON.stringify(
          logsRequest([
            log(jsonValid),
            log('bad time', { timeUnixNano: 'yesterday' }),
            log('bad', { traceId: 'zz' }),
          ]),
        ),
      );
      expect(jsonRes.status).toBe(200);
      expect(await jsonRes.json()).toEqual({
        partialSuccess: {
          rejectedLogRecords: '2',
          errorMessage: expect.stringMatching(/^2 log records rejected: .*timeUnixNano.*traceId/),
        },
      });
      canaries.push(jsonValid);

      // Spans: rejected_spans, with the same semantics.
      const spans = await post(
        tight,
        '/v1/traces',
        'application/x-protobuf',
        proto(TraceRequest, {
          resourceSpans: [
            {
              scopeSpans: [
                {
                  spans: [
                    { traceId: Buffer.alloc(16, 1), spanId: Buffer.alloc(8, 1), name: 'ok' },
                    { traceId: Buffer.alloc(16, 1), name: 'no span id' },
                  ],
                },
              ],
            },
          ],
        }),
      );
      expect(spans.status).toBe(200);
      const TraceResponse = collector.trace.v1.ExportTraceServiceResponse!;
      expect(
        TraceResponse.toObject(TraceResponse.decode(Buffer.from(await spans.arrayBuffer())), {
          longs: Number,
        }),
      ).toEqual({
        partialSuccess: { rejectedSpans: 1, errorMessage: expect.stringMatching(/span_id is empty/) },
      });

      // A request whose every record is too large can never succeed: 413, not a retryable 503.
      const never = await post(
        tight,
        '/v1/logs',
        'application/json',
        JSON.stringify(logsRequest([log('y'.repeat(100 * 1024))])),
      );
      expect(never.status).toBe(413);
      expect(await never.json()).toMatchObject({
        message: expect.stringMatching(/INGEST_MAX_MESSAGE_BYTES/),
      });
    } finally {
      await tight.close();
    }
  });

  it('splits a request over the message limit into several messages, each under it, losing no record', async () => {
    const bodies = Array.from({ length: 3_000 }, (_, i) => `split ${i} ${run} ${'z'.repeat(900)}`);
    const before = messages.length;
    const res = await post(
      api,
      '/v1/logs',
      'application/x-protobuf',
      proto(LogsRequest, logsRequest(bodies.map((b) => log(b)))),
    );
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBe(0); // no partial_success: all accepted
    await waitFor('every split record on the topic', () => bodies.every((b) => landed.includes(b)), 60_000);
    const mine = messages
      .slice(before)
      .filter((m) => m.includes(`split 0 ${run}`) || m.includes(` ${run} z`));
    expect(mine.length).toBeGreaterThanOrEqual(3);
    for (const m of mine) expect(m.length).toBeLessThanOrEqual(1_000_000);
    expect(landed.filter((b) => b.startsWith('split ') && b.includes(run))).toHaveLength(bodies.length);
  });

  it('stored every valid record sent around the hostile ones, once', async () => {
    await waitFor('every canary on the topic', () => canaries.every((c) => landed.includes(c)), 60_000);
    for (const c of canaries) expect(landed.filter((b) => b === c)).toHaveLength(1);
    // Nothing of the refused requests was stored.
    expect(landed.some((b) => b === 'deep' || b === 'bad trace id' || b === 'bad span id')).toBe(false);
  });
});

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return Buffer.from(out);
}

interface SlowUpload {
  socket: Socket;
  response: string;
  closed: boolean;
}

/** An upload that sends its headers and 10 of its 100,000 declared body bytes, then stalls. */
async function openSlowUpload(port: number): Promise<SlowUpload> {
  const socket = connect(port, '127.0.0.1');
  const upload: SlowUpload = { socket, response: '', closed: false };
  socket.on('data', (chunk: Buffer) => {
    upload.response += chunk.toString();
  });
  socket.on('error', () => undefined);
  socket.on('close', () => {
    upload.closed = true;
  });
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(
    'POST /v1/logs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"resourc',
  );
  return upload;
}
