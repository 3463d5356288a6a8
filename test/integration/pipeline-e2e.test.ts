import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { HrTime } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { Resource } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { Kafka, Partitioners, logLevel, type Admin, type Consumer, type Producer } from 'kafkajs';
import WebSocket from 'ws';
import { startApiServer, type ApiServer } from '../../app/api-server';
import {
  buildScenario,
  encodeLogs,
  encodeSpans,
  type ReadableLogRecord,
  type ReadableSpan,
  type Scenario,
} from '../../app/demo/otlp-scenario';
import { kafkaClient, loadAlertRules, startStackLens, type RunningStackLens } from '../../app/stacklens-app';
import { stackLensTopics } from '../../app/topics';
import { createLogger } from '../../common/logger';
import { loadConfig, type StackLensConfig } from '../../config/config';
import { withLocalStackDefaults } from '../../infra/local-stack-env';
import { localS3ClientConfig } from '../../infra/services/s3';
import { stackSettingsFromEnv } from '../../infra/stack-settings';
import { evaluateCorrelation, evaluateLog, initialAlertState, type Alert } from '../../processors';
import { hivePartition } from '../../sinks/archive/layout';
import { createSchemaRegistryClient } from '../../sinks/kafka/schema-registry-client';
import { HEADER } from '../../topology';
import { correlate, decodeLanded, type DecodedTelemetry } from '../support/demo-telemetry';
import { correlatorQuietMs } from '../support/pipeline-harness';
import { readTopic } from '../support/topology-kafka';
import { waitFor as waitUntil } from '../support/wait-for';

// Issues 4 and 5 end to end through the composition root, with nothing mocked: OTLP batches made by
// the OpenTelemetry JS SDK go to the (prefixed) Kafka topics as the Collector's Kafka exporter
// writes them; the test reads what StackLens made of them from chDB, the local S3, the alerts topic
// through the schema registry and the API; then a second instance replays the same input offsets.

const run = randomUUID().slice(0, 8);
const appId = `e2e-${run}`;
const chdbDir = mkdtempSync(join(tmpdir(), `stacklens-${appId}-`));
const settings = stackSettingsFromEnv();
const loaded = loadConfig(
  withLocalStackDefaults(
    {
      TOPIC_PREFIX: `${appId}-`,
      APPLICATION_ID: appId,
      CHDB_PATH: chdbDir,
      CORR_WINDOW_SECONDS: '2',
      CORR_GRACE_SECONDS: '1',
      ARCHIVE_FLUSH_SECONDS: '1',
      LOG_LEVEL: 'warn',
    },
    settings,
  ),
);
// Port 0: the OS picks a free port (HTTP_PORT itself must be 1..65535).
const config: StackLensConfig = { ...loaded, http: { ...loaded.http, port: 0 } };
const topics = stackLensTopics(config);
const logger = createLogger({ level: config.log.level, format: 'json', name: appId });
const rules = loadAlertRules(config.alerts.rulesFile);
const kafka = new Kafka({
  clientId: `${appId}-test`,
  brokers: config.kafka.brokers,
  logLevel: logLevel.NOTHING,
});
const s3 = new S3Client(localS3ClientConfig(settings));
const bucket = config.archive.s3?.bucket ?? '';
const registryUrl = config.schemaRegistry.url;
const schemaRegistry = createSchemaRegistryClient(config.schemaRegistry);

const CORRELATOR_QUIET_MS = correlatorQuietMs(config);

const nanos = (t: HrTime): string => (BigInt(t[0]) * 1_000_000_000n + BigInt(t[1])).toString();
const millis = (t: HrTime): number => t[0] * 1_000 + Math.floor(t[1] / 1_000_000);
const serviceOf = (r: { resource: { attributes: Record<string, unknown> } }) =>
  String(r.resource.attributes['service.name']);

interface Produced {
  topic: string;
  partition: number;
  offset: string;
  timestamp: number;
  value: Buffer;
}

/** Polls until `condition` holds; fails after `timeoutMs`, or at once when the pipeline has failed. */
function waitFor(
  what: string,
  condition: () => Promise<boolean> | boolean,
  timeoutMs = 60_000,
): Promise<void> {
  const unlessFailed = async (): Promise<boolean> => {
    if (pipelineFailure !== undefined) throw new Error(`the pipeline failed: ${String(pipelineFailure)}`);
    return condition();
  };
  return waitUntil(what, unlessFailed, timeoutMs, 250);
}

let app: RunningStackLens | undefined;
let pipelineFailure: unknown;
function watch(running: RunningStackLens): RunningStackLens {
  running.done.catch((err: unknown) => (pipelineFailure = err));
  return running;
}

async function query<T>(sql: string, params: Record<string, unknown> = {}): Promise<T[]> {
  const result = await app!.clickhouse.query({ query: sql, query_params: params, format: 'JSONEachRow' });
  return result.json<T>();
}

async function count(sql: string, params: Record<string, unknown> = {}): Promise<number> {
  const [row] = await query<{ n: string }>(sql, params);
  return Number(row?.n ?? 0);
}

/** Archive object keys of this run (the archive has no key prefix: the object names carry the topics). */
async function archiveKeys(): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      if (
        o.Key !== undefined &&
        (o.Key.includes(`/logs_${topics.logs}-`) || o.Key.includes(`/traces_${topics.traces}-`))
      )
        keys.push(o.Key);
    }
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return keys.sort();
}

async function archiveObject(key: string): Promise<Record<string, unknown>> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const body = Buffer.from(await object.Body!.transformToByteArray());
  return JSON.parse(gunzipSync(body).toString('utf8')) as Record<string, unknown>;
}

/** The high watermark of each of a topic's partitions. */
async function endOffsets(admin: Admin, topic: string): Promise<Map<number, string>> {
  return new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, p.high]));
}

/** True when `groupId` has committed the end of every partition of the (non-transactional) input topics. */
async function caughtUp(admin: Admin, groupId: string): Promise<boolean> {
  for (const topic of [topics.logs, topics.traces]) {
    const ends = await endOffsets(admin, topic);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    for (const p of committed?.partitions ?? []) {
      const end = ends.get(p.partition) ?? '0';
      // -1: nothing committed, which is caught up only on an empty partition.
      if (p.offset === '-1' ? end !== '0' : p.offset !== end) return false;
    }
  }
  return true;
}

function metric(name: string, labels: Record<string, string>): Promise<number> {
  return app!.metrics().then((metrics) => {
    const found = metrics.find((m) => m.name === name);
    const values = (found?.values ?? []) as { value: number; labels: Record<string, string | number> }[];
    return values
      .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
      .reduce((sum, v) => sum + v.value, 0);
  });
}

/** What the scenario should give: the logs and spans as the record pipeline reads them, and the alerts. */
function expectationsOf(produced: readonly Produced[]): {
  telemetry: DecodedTelemetry;
  alertIds: Set<string>;
} {
  const telemetry = decodeLanded(
    produced.map((m) => ({ ...m, key: null, headers: {} })),
    topics.logs,
  );
  const alertIds = new Set<string>();
  let state = initialAlertState();
  for (const log of [...telemetry.logs].sort((a, b) => a.time_ms - b.time_ms)) {
    const t = evaluateLog(rules, state, log);
    state = t.state;
    for (const a of t.alerts) alertIds.add(a.id);
  }
  // Trace rules are stateless in the pipeline: each correlation is evaluated on its own.
  for (const c of correlate(telemetry)) {
    for (const a of evaluateCorrelation(rules, initialAlertState(), c).alerts) alertIds.add(a.id);
  }
  return { telemetry, alertIds };
}

jest.setTimeout(120_000);

describe('StackLens end to end on the local stack', () => {
  let admin: Admin;
  let producer: Producer;
  let alertsConsumer: Consumer;
  let dlqConsumer: Consumer;
  let api: ApiServer | undefined;
  const alertsOnTopic: Alert[] = [];
  const dlq: { value: Buffer | null; headers: Record<string, string> }[] = [];
  const produced: Produced[] = [];
  let scenario: Scenario;
  let bad: { partition: number; offset: string };
  let expected: ReturnType<typeof expectationsOf>;

  async function produce(topic: string, values: Buffer[], timestamps: number[]): Promise<void> {
    // One send per message: its offset is then known (the archive and the DLQ are checked against it).
    for (const [i, value] of values.entries()) {
      const [meta] = await producer.send({
        topic,
        acks: -1,
        messages: [{ value, timestamp: String(timestamps[i]) }],
      });
      produced.push({
        topic,
        partition: meta!.partition,
        offset: meta!.baseOffset!,
        timestamp: timestamps[i]!,
        value,
      });
    }
  }

  /** Produces a scenario like the Collector's Kafka exporter: otlp_proto, keyless, no content-type. */
  async function produceScenario(s: Scenario, batch: { logs: number; spans: number }): Promise<void> {
    const logChunks = chunks(s.logs, batch.logs);
    const spanChunks = chunks(s.spans, batch.spans);
    await produce(
      topics.logs,
      encodeLogs(s.logs, { encoding: 'otlp_proto', batchSize: batch.logs }),
      logChunks.map((c) => Math.min(...c.map((l: ReadableLogRecord) => millis(l.hrTime)))),
    );
    await produce(
      topics.traces,
      encodeSpans(s.spans, { encoding: 'otlp_proto', batchSize: batch.spans }),
      spanChunks.map((c) => Math.min(...c.map((sp: ReadableSpan) => millis(sp.startTime)))),
    );
  }

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    app = watch(await startStackLens({ config, logger, instanceId: `${appId}-a` }));
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();

    alertsConsumer = kafka.consumer({ groupId: `${appId}-test-alerts`, maxWaitTimeInMs: 500 });
    await alertsConsumer.connect();
    await alertsConsumer.subscribe({ topic: topics.alerts, fromBeginning: true });
    await alertsConsumer.run({
      eachMessage: async ({ message }) => {
        if (message.value !== null) alertsOnTopic.push((await schemaRegistry.decode(message.value)) as Alert);
      },
    });
    dlqConsumer = kafka.consumer({ groupId: `${appId}-test-dlq`, maxWaitTimeInMs: 500 });
    await dlqConsumer.connect();
    await dlqConsumer.subscribe({ topic: `${appId}-dlq`, fromBeginning: true });
    await dlqConsumer.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
        dlq.push({ value: message.value, headers });
      },
    });

    api = await startApiServer({
      config,
      logger,
      registry: app.registry,
      processMetrics: () => app!.metrics(),
      clickhouse: app.clickhouse,
      kafka: kafkaClient(config, logger, `${appId}-api`),
      schemaRegistry: app.schemaRegistry,
      pipelineProblem: () => app!.problem(),
      topics,
    });

    // Event times of now: the alert windows, the archive's time folders and the API's default time
    // ranges all see current data.
    scenario = buildScenario({
      traces: 12,
      seed: 1,
      errorRate: 0.5,
      startMs: Date.now() - 10_000,
      intervalMs: 100,
    });
    await produceScenario(scenario, { logs: 10, spans: 15 });
    // A message no decoder reads: the runtime dead-letters it and the rest flows on.
    const [meta] = await producer.send({
      topic: topics.logs,
      acks: -1,
      messages: [{ value: Buffer.from('{"resourceLogs": [ not json') }],
    });
    bad = { partition: meta!.partition, offset: meta!.baseOffset! };
    expected = expectationsOf(produced);
  }, 120_000);

  afterAll(async () => {
    const steps: [string, () => Promise<unknown>][] = [
      ['api', async () => api?.close()],
      ['app', async () => app?.stop()],
      ['consumers', async () => Promise.all([alertsConsumer?.disconnect(), dlqConsumer?.disconnect()])],
      ['producer', async () => producer?.disconnect()],
      [
        'groups',
        async () => {
          const groups = (await admin.listGroups()).groups
            .map((g) => g.groupId)
            .filter((g) => g.startsWith(appId));
          if (groups.length > 0) await admin.deleteGroups(groups);
        },
      ],
      [
        'topics',
        async () => {
          const ours = (await admin.listTopics()).filter((t) => t.startsWith(appId));
          if (ours.length > 0) await admin.deleteTopics({ topics: ours });
        },
      ],
      [
        'subjects',
        async () => {
          for (const topic of [topics.enriched, topics.alerts]) {
            const subject = `${registryUrl}/subjects/${encodeURIComponent(`${topic}-value`)}`;
            await fetch(subject, { method: 'DELETE' });
            await fetch(`${subject}?permanent=true`, { method: 'DELETE' });
          }
        },
      ],
      [
        'archive objects',
        async () => {
          // Data objects and continuation markers: all carry the run's topic names.
          const all = await archiveKeys();
          for (let i = 0; i < all.length; i += 500) {
            await s3.send(
              new DeleteObjectsCommand({
                Bucket: bucket,
                Delete: { Objects: all.slice(i, i + 500).map((Key) => ({ Key })) },
              }),
            );
          }
        },
      ],
      ['admin', async () => admin?.disconnect()],
      ['chdb dir', async () => rmSync(chdbDir, { recursive: true, force: true })],
    ];
    for (const [what, step] of steps) {
      await step().catch((err: unknown) => logger.warn({ err, what }, 'e2e cleanup step failed'));
    }
    s3.destroy();
  }, 120_000);

  it('materializes every log into otel_logs with its service, trace id and nanosecond time', async () => {
    await waitFor(
      'the scenario logs in otel_logs',
      async () => (await count('SELECT count() AS n FROM otel_logs')) >= scenario.logs.length,
    );
    const rows = await query<{
      TraceId: string;
      SpanId: string;
      ServiceName: string;
      ts: string;
      Body: string;
    }>(
      'SELECT TraceId, SpanId, ServiceName, toString(toUnixTimestamp64Nano(Timestamp)) AS ts, Body FROM otel_logs',
    );
    expect(rows).toHaveLength(scenario.logs.length);
    const key = (r: { TraceId: string; SpanId: string; ServiceName: string; ts: string; Body: string }) =>
      `${r.TraceId}|${r.SpanId}|${r.ServiceName}|${r.ts}|${r.Body}`;
    const want = scenario.logs.map((l) =>
      key({
        TraceId: l.spanContext?.traceId ?? '',
        SpanId: l.spanContext?.spanId ?? '',
        ServiceName: serviceOf(l),
        ts: nanos(l.hrTime),
        Body: String(l.body),
      }),
    );
    expect(rows.map(key).sort()).toEqual(want.sort());
    expect(rows.every((r) => /^[0-9a-f]{32}$/.test(r.TraceId))).toBe(true);
    expect(new Set(rows.map((r) => r.ServiceName))).toEqual(new Set(['arda', 'beorn', 'palantir']));
  });

  it('materializes every span into otel_traces with its parent and duration', async () => {
    await waitFor(
      'the scenario spans in otel_traces',
      async () => (await count('SELECT count() AS n FROM otel_traces')) >= scenario.spans.length,
    );
    const rows = await query<{
      TraceId: string;
      SpanId: string;
      ParentSpanId: string;
      ServiceName: string;
      Duration: string;
      ts: string;
    }>(
      'SELECT TraceId, SpanId, ParentSpanId, ServiceName, Duration, toString(toUnixTimestamp64Nano(Timestamp)) AS ts FROM otel_traces',
    );
    expect(rows).toHaveLength(scenario.spans.length);
    const key = (r: {
      TraceId: string;
      SpanId: string;
      ParentSpanId: string;
      ServiceName: string;
      Duration: string;
      ts: string;
    }) => `${r.TraceId}|${r.SpanId}|${r.ParentSpanId}|${r.ServiceName}|${r.Duration}|${r.ts}`;
    const want = scenario.spans.map((s) =>
      key({
        TraceId: s.spanContext().traceId,
        SpanId: s.spanContext().spanId,
        ParentSpanId: s.parentSpanId ?? '',
        ServiceName: serviceOf(s),
        Duration: nanos(s.duration),
        ts: nanos(s.startTime),
      }),
    );
    expect(rows.map(key).sort()).toEqual(want.sort());
    // Roots have no parent; every other span's parent is a span of the same trace.
    expect(rows.filter((r) => r.ParentSpanId === '')).toHaveLength(scenario.traces.length);
  });

  it('dead-letters the undecodable message with the error and its source offset, and the rest flows', async () => {
    await waitFor('the bad message on the DLQ', () => dlq.length >= 1);
    expect(dlq).toHaveLength(1);
    expect(dlq[0]!.headers).toMatchObject({
      [HEADER.sourceTopic]: topics.logs,
      [HEADER.sourcePartition]: String(bad.partition),
      [HEADER.sourceOffset]: bad.offset,
    });
    expect(dlq[0]!.headers[HEADER.error]).toMatch(/\S/);
    expect(dlq[0]!.headers[HEADER.errorType]).toMatch(/\S/);
  });

  it('writes one correlation per trace with the span and log counts of the scenario', async () => {
    const expectedRows = scenario.traces
      .map((t) => ({
        trace_id: t.traceId,
        span_count: t.spanCount,
        log_count: t.logCount,
        root_service: 'arda',
      }))
      .sort((a, b) => (a.trace_id < b.trace_id ? -1 : 1));
    const rows = async () =>
      (
        await query<{ trace_id: string; span_count: number; log_count: number; root_service: string }>(
          'SELECT trace_id, span_count, log_count, root_service FROM stacklens_correlations ORDER BY trace_id',
        )
      ).map((r) => ({ ...r, span_count: Number(r.span_count), log_count: Number(r.log_count) }));
    // Each record adds its part as it is processed: the rows grow until every record is in.
    await waitFor(
      'every trace correlated with all of its records',
      async () => JSON.stringify(await rows()) === JSON.stringify(expectedRows),
    );
    expect(await rows()).toEqual(expectedRows);
  });

  it('archives the input as gzip OTLP/JSON objects in the time folders of the messages', async () => {
    const topicMessages = (topic: string) => produced.filter((m) => m.topic === topic);
    const records = async (signal: 'logs' | 'traces') => {
      let n = 0;
      for (const key of (await archiveKeys()).filter((k) => k.includes(`/${signal}_`))) {
        const body = await archiveObject(key);
        if (signal === 'logs') {
          const resourceLogs = body.resourceLogs as { scopeLogs: { logRecords: unknown[] }[] }[];
          n += resourceLogs.flatMap((r) => r.scopeLogs).flatMap((s) => s.logRecords).length;
        } else {
          const resourceSpans = body.resourceSpans as { scopeSpans: { spans: unknown[] }[] }[];
          n += resourceSpans.flatMap((r) => r.scopeSpans).flatMap((s) => s.spans).length;
        }
      }
      return n;
    };
    await waitFor(
      'every log and span in the archive',
      async () =>
        (await records('logs')) >= scenario.logs.length && (await records('traces')) >= scenario.spans.length,
    );
    expect(await records('logs')).toBe(scenario.logs.length);
    expect(await records('traces')).toBe(scenario.spans.length);

    const keys = await archiveKeys();
    for (const [signal, topic] of [
      ['logs', topics.logs],
      ['traces', topics.traces],
    ] as const) {
      const folders = new Set(topicMessages(topic).map((m) => hivePartition(m.timestamp)));
      const ours = keys.filter((k) => k.includes(`/${signal}_`));
      expect(ours.length).toBeGreaterThan(0);
      for (const key of ours) {
        const match = new RegExp(
          `^(year=\\d{4}/month=\\d{2}/day=\\d{2}/hour=\\d{2}/minute=\\d{2})/${signal}_${topic}-(\\d+)-(\\d+)-(\\d+)\\.json\\.gz$`,
        ).exec(key);
        expect(match).not.toBeNull();
        const [, folder, partition, first] = match!;
        // The folder is the time of the object's first message (its Kafka timestamp, the event time here).
        const firstMessage = topicMessages(topic).find(
          (m) => String(m.partition) === partition && m.offset === first,
        );
        expect(firstMessage).toBeDefined();
        expect(folder).toBe(hivePartition(firstMessage!.timestamp));
        expect(folders.has(folder!)).toBe(true);
      }
    }

    // Canonical OTLP/JSON: hex ids, as the Collector's awss3 exporter writes.
    const logObject = await archiveObject(keys.find((k) => k.includes('/logs_'))!);
    const logRecord = (
      logObject.resourceLogs as { scopeLogs: { logRecords: { traceId: string; spanId: string }[] }[] }[]
    )[0]!.scopeLogs[0]!.logRecords[0]!;
    expect(logRecord.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(logRecord.spanId).toMatch(/^[0-9a-f]{16}$/);
    const spanObject = await archiveObject(keys.find((k) => k.includes('/traces_'))!);
    const span = (
      spanObject.resourceSpans as { scopeSpans: { spans: { traceId: string; spanId: string }[] }[] }[]
    )[0]!.scopeSpans[0]!.spans[0]!;
    expect(span.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(span.spanId).toMatch(/^[0-9a-f]{16}$/);
  });

  it('publishes the alerts the rules give, Avro through the registry, and stores them in stacklens_alerts', async () => {
    expect(expected.alertIds.size).toBeGreaterThan(0);
    await waitFor('every expected alert on the alerts topic', () =>
      [...expected.alertIds].every((id) => alertsOnTopic.some((a) => a.id === id)),
    );
    expect(new Set(alertsOnTopic.map((a) => a.id))).toEqual(expected.alertIds);
    const ruleIds = new Set(alertsOnTopic.map((a) => a.rule_id));
    for (const rule of ['sense-app-errors', 'payment-failure', 'price-missing', 'slow-trace', 'trace-error'])
      expect(ruleIds).toContain(rule);

    const payment = alertsOnTopic.find((a) => a.rule_id === 'payment-failure')!;
    const paymentTraces = scenario.traces
      .filter((t) => t.failure === 'PAYMENT_FAILURE')
      .map((t) => t.traceId);
    expect(payment).toMatchObject({
      issue_code: 'PAYMENT_FAILURE',
      severity: 'error',
      service: 'beorn',
      confidence: expect.closeTo(0.9, 5),
      automation_possible: true,
      automation_action: 'retry_payment',
    });
    expect(paymentTraces).toContain(payment.related_trace_id);
    expect(payment.related_logs.length).toBeGreaterThan(0);
    expect(new Date(payment.created_at).toISOString()).toBe(payment.created_at);
    const slow = alertsOnTopic.find((a) => a.rule_id === 'slow-trace')!;
    expect(slow).toMatchObject({ issue_code: 'SLOW_TRACE', severity: 'warn', service: 'arda' });
    expect(scenario.traces.filter((t) => t.failure === 'TIMEOUT').map((t) => t.traceId)).toContain(
      slow.related_trace_id,
    );

    await waitFor(
      'the alerts in stacklens_alerts',
      async () => (await count('SELECT count() AS n FROM stacklens_alerts FINAL')) >= expected.alertIds.size,
    );
    const stored = await query<{ id: string; rule_id: string; issue_code: string; related_trace_id: string }>(
      'SELECT id, rule_id, issue_code, related_trace_id FROM stacklens_alerts FINAL',
    );
    expect(new Set(stored.map((r) => r.id))).toEqual(expected.alertIds);
    expect(stored.find((r) => r.id === payment.id)).toMatchObject({
      rule_id: 'payment-failure',
      issue_code: 'PAYMENT_FAILURE',
      related_trace_id: payment.related_trace_id,
    });
  });

  describe('the API over the running pipeline', () => {
    const base = () => `http://127.0.0.1:${api!.port}`;
    const failing = () => scenario.traces.find((t) => t.failure === 'PAYMENT_FAILURE')!;

    it('GET /api/logs?trace_id= returns that trace’s logs', async () => {
      const trace = failing();
      const res = await fetch(`${base()}/api/logs?trace_id=${trace.traceId}`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { logs: { trace_id: string; service: string; body: string }[] };
      expect(body.logs).toHaveLength(trace.logCount);
      expect(body.logs.every((l) => l.trace_id === trace.traceId)).toBe(true);
      expect(body.logs.map((l) => l.body)).toContain('Payment failed: card declined by issuer');
    });

    it('GET /api/traces/:traceId returns the span tree', async () => {
      const trace = failing();
      const res = await fetch(`${base()}/api/traces/${trace.traceId}`);
      expect(res.status).toBe(200);
      const tree = (await res.json()) as {
        trace_id: string;
        span_count: number;
        roots: {
          span_id: string;
          name: string;
          children: { span_id: string; children: { span_id: string }[] }[];
        }[];
        logs: unknown[];
      };
      expect(tree.trace_id).toBe(trace.traceId);
      expect(tree.span_count).toBe(trace.spanCount);
      expect(tree.roots).toHaveLength(1);
      expect(tree.roots[0]).toMatchObject({ span_id: trace.spanIds.arda, name: 'POST /api/v1/design' });
      // arda → (client → beorn), arda → palantir → llm
      const childIds = tree.roots[0]!.children.flatMap((c) => [
        c.span_id,
        ...c.children.map((g) => g.span_id),
      ]);
      expect(childIds).toEqual(expect.arrayContaining([trace.spanIds.beorn, trace.spanIds.palantir]));
      expect(tree.logs).toHaveLength(trace.logCount);
    });

    it('GET /api/correlations?trace_id= returns the trace’s correlation', async () => {
      const trace = failing();
      const res = await fetch(`${base()}/api/correlations?trace_id=${trace.traceId}`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as {
        correlations: { trace_id: string; span_count: number; log_count: number }[];
      };
      expect(body.correlations).toHaveLength(1);
      expect(body.correlations[0]).toMatchObject({
        trace_id: trace.traceId,
        span_count: trace.spanCount,
        log_count: trace.logCount,
      });
    });

    it('a /ws/alerts client receives an alert the pipeline raises while it is connected', async () => {
      await waitFor(
        'the API ready (live feed assigned)',
        async () => (await fetch(`${base()}/ready`)).status === 200,
      );
      const ws = new WebSocket(`${base().replace('http', 'ws')}/ws/alerts`);
      const received: { type: string; data?: Alert }[] = [];
      ws.on('message', (data: Buffer) =>
        received.push(JSON.parse(data.toString('utf8')) as { type: string; data?: Alert }),
      );
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      try {
        // A new failing trace: its trace-keyed alert (trace-error) is new, whatever fired before.
        const live = buildScenario({
          traces: 1,
          seed: 77,
          errorRate: 1,
          failureWeights: { PRICE_MISSING: 1 },
          startMs: Date.now(),
        });
        const liveTrace = live.traces[0]!;
        await produceScenario(live, { logs: 100, spans: 100 });
        const before = new Set(expected.alertIds);
        expected = expectationsOf(produced);
        await waitFor(
          'the live trace’s alert over the WebSocket',
          () => received.some((m) => m.type === 'alert' && m.data?.related_trace_id === liveTrace.traceId),
          30_000,
        );
        const alert = received.find(
          (m) => m.type === 'alert' && m.data?.related_trace_id === liveTrace.traceId,
        )!.data!;
        expect(before.has(alert.id)).toBe(false);
        expect(expected.alertIds.has(alert.id)).toBe(true);
        expect(alert).toMatchObject({ issue_code: 'PRICE_MISSING' });
      } finally {
        ws.close();
      }
    });

    it('logs posted by the OpenTelemetry JS OTLP/HTTP exporter land in otel_logs', async () => {
      const provider = new LoggerProvider({ resource: new Resource({ 'service.name': `exporter-${run}` }) });
      provider.addLogRecordProcessor(
        new SimpleLogRecordProcessor(new OTLPLogExporter({ url: `${base()}/v1/logs` })),
      );
      const otel = provider.getLogger('e2e');
      for (let i = 0; i < 3; i++) {
        otel.emit({
          body: `exported ${run} #${i}`,
          severityNumber: SeverityNumber.WARN,
          severityText: 'WARN',
        });
      }
      await provider.forceFlush();
      await provider.shutdown();
      await waitFor(
        'the exported logs in otel_logs',
        async () =>
          (await count('SELECT count() AS n FROM otel_logs WHERE ServiceName = {s:String}', {
            s: `exporter-${run}`,
          })) >= 3,
      );
      const rows = await query<{ Body: string; SeverityText: string }>(
        'SELECT Body, SeverityText FROM otel_logs WHERE ServiceName = {s:String} ORDER BY Body',
        { s: `exporter-${run}` },
      );
      expect(rows).toEqual([0, 1, 2].map((i) => ({ Body: `exported ${run} #${i}`, SeverityText: 'WARN' })));
    });
  });

  it('a new instance replaying the same input offsets adds no rows and no archive objects', async () => {
    // Settle first: every trace correlated, every alert stored, the archive caught up.
    const traces = correlate(expected.telemetry).length;
    await waitFor(
      'every correlation',
      async () => (await count('SELECT count() AS n FROM stacklens_correlations')) >= traces,
    );
    await waitFor(
      'every alert stored',
      async () => (await count('SELECT count() AS n FROM stacklens_alerts FINAL')) >= expected.alertIds.size,
    );
    // The pipeline, the ClickHouse application and the archive: every consumer group of the input.
    const groups = [appId, `${appId}-clickhouse`, `${appId}-archive`];
    const allCaughtUp = async () => {
      for (const group of groups) if (!(await caughtUp(admin, group))) return false;
      return true;
    };
    await waitFor('every application caught up', allCaughtUp);
    const snapshot = async () => ({
      logs: await count('SELECT count() AS n FROM otel_logs'),
      spans: await count('SELECT count() AS n FROM otel_traces'),
      correlations: await query('SELECT * FROM stacklens_correlations ORDER BY trace_id'),
      alerts: await query('SELECT * FROM stacklens_alerts FINAL ORDER BY id'),
      objects: await archiveKeys(),
    });
    const before = await snapshot();
    expect(before.logs).toBe(expected.telemetry.logs.length + 3); // + the OTLP/HTTP exporter's
    expect(before.spans).toBe(expected.telemetry.spans.length);

    await api?.close();
    api = undefined;
    await app!.stop();
    // The same offsets again: without their consumer groups, every application starts over from the
    // beginning of every topic it reads (the repartition topics too, from their low watermark: what
    // the first run had not purged yet arrives twice, once as it was, once as the replay writes it).
    await admin.deleteGroups(groups);
    app = watch(await startStackLens({ config, logger, instanceId: `${appId}-b` }));
    const inputMessages = produced.length + 1; // + the dead-lettered one
    const consumed = async (application: string) =>
      (await metric('stacklens_topology_records_consumed_total', { application, topic: topics.logs })) +
      (await metric('stacklens_topology_records_consumed_total', { application, topic: topics.traces }));
    // Records, not offsets: the API's ingest produces in transactions, whose commit markers take
    // offsets of the input topics that no consumer ever receives as records.
    const total =
      (await readTopic(kafka, topics.logs)).length + (await readTopic(kafka, topics.traces)).length;
    expect(total).toBeGreaterThanOrEqual(inputMessages);
    await waitFor('the replay of every input message by every application', async () => {
      for (const group of groups) if ((await consumed(group)) < total) return false;
      return true;
    });
    await waitFor('every application committed the replay', allCaughtUp);
    // The correlator emits up to window + grace + two checks after the last record it read (its
    // wall-clock rule): only then can the replay's correlations and trace alerts all have been written.
    const lastRead = { at: Date.now(), consumed: -1 };
    await waitFor('the correlator to have closed everything the replay reopened', async () => {
      const now = await metric('stacklens_topology_records_consumed_total', { application: appId });
      if (now !== lastRead.consumed) Object.assign(lastRead, { at: Date.now(), consumed: now });
      return Date.now() - lastRead.at >= CORRELATOR_QUIET_MS;
    });
    const after = await snapshot();
    expect(after.logs).toBe(before.logs);
    expect(after.spans).toBe(before.spans);
    expect(after.correlations).toEqual(before.correlations);
    expect(after.alerts).toEqual(before.alerts);
    expect(after.objects).toEqual(before.objects);
  });
});

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
