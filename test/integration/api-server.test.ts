import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { Kafka, Partitioners, logLevel, type Admin, type Producer } from 'kafkajs';
import { Registry } from 'prom-client';
import WebSocket from 'ws';
import { waitFor } from '../../api/testing/harness';
import { archiveProbe } from '../../app/readiness-probes';
import { ApiPortInUseError, startApiServer, type ApiServer, type ApiServerDeps } from '../../app/api-server';
import { createLogger } from '../../common/logger';
import { loadConfig, type StackLensConfig } from '../../config/config';
import {
  LOCAL_S3_ACCESS_KEY_ID,
  LOCAL_S3_BUCKET,
  LOCAL_S3_SECRET_ACCESS_KEY,
  localS3Endpoint,
} from '../../infra/services/s3';
import { schemaRegistryUrl } from '../../infra/services/schema-registry';
import { stackSettingsFromEnv } from '../../infra/stack-settings';
import { readTopic } from '../support/topology-kafka';
import type { Alert } from '../../processors/records';
import { createClickHouse } from '../../sinks/clickhouse/client';
import { migrate } from '../../sinks/clickhouse/migrations';
import { registerProductSerdes, type ProductSerdes } from '../../sinks/kafka/product-serdes';
import { createSchemaRegistryClient } from '../../sinks/kafka/schema-registry-client';
import { ensureTopics, PRODUCT_TOPICS, productTopicSpecs } from '../../sinks/kafka/topics';

// The API as the composition root starts it, on the real stack: chDB with the sinks' migrations, the local
// broker and registry, per-run topics and subjects (prefix), an OS-chosen port and token auth.
const logger = createLogger({ level: 'silent', format: 'json' });
const settings = stackSettingsFromEnv();
const run = randomUUID().slice(0, 8);
const prefix = `api-server-it-${run}-`;
const token = randomUUID();
const auth = { authorization: `Bearer ${token}` };
const dir = mkdtempSync(join(tmpdir(), 'stacklens-api-server-'));

const loaded = loadConfig({
  KAFKA_BROKERS: `${settings.host}:${settings.kafkaPort}`,
  SCHEMA_REGISTRY_URL: schemaRegistryUrl(settings),
  APPLICATION_ID: `api-server-it-${run}`,
  CHDB_PATH: join(dir, 'chdb'),
  ARCHIVE_DIR: join(dir, 'archive'),
  API_AUTH: 'token',
  API_TOKEN: token,
  LOG_LEVEL: 'silent',
});
const config: StackLensConfig = { ...loaded, http: { ...loaded.http, port: 0 } };
const topics = {
  logs: `${prefix}${PRODUCT_TOPICS.otelLogs}`,
  traces: `${prefix}${PRODUCT_TOPICS.otelTraces}`,
  enriched: `${prefix}${PRODUCT_TOPICS.enriched}`,
  alerts: `${prefix}${PRODUCT_TOPICS.alerts}`,
};

const alert: Alert = {
  id: `alert-${run}`,
  issue_code: 'PRICE_MISSING',
  severity: 'error',
  message: 'Product price is null or missing',
  suggested_fix: 'Check inventory service response',
  confidence: 0.95,
  automation_possible: true,
  automation_action: 'retry_with_fallback_price',
  related_trace_id: null,
  related_logs: ['otel-logs:0:42:0'],
  created_at: '2026-11-22T08:00:00.000Z',
  created_by: 'system',
  rule_id: 'price-missing',
  service: 'beorn',
  count: 1,
  window_start: '2026-11-22T08:00:00.000Z',
};

interface WsClient {
  ws: WebSocket;
  messages: { type: string; code?: string; data?: Partial<Alert> }[];
  closed: { code?: number };
}

async function openWs(url: string): Promise<WsClient> {
  const ws = new WebSocket(url, { headers: auth });
  const client: WsClient = { ws, messages: [], closed: {} };
  ws.on('message', (data: Buffer) => client.messages.push(JSON.parse(data.toString('utf8'))));
  ws.on('close', (code) => (client.closed.code = code));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return client;
}

describe('startApiServer on the local stack', () => {
  const kafka = new Kafka({
    clientId: `api-server-it-${run}`,
    brokers: config.kafka.brokers,
    logLevel: logLevel.NOTHING,
  });
  const schemaRegistry = createSchemaRegistryClient(config.schemaRegistry);
  let pipelineProblem: string | undefined;
  let clickhouse: ClickHouseClient;
  let admin: Admin;
  let producer: Producer;
  let serdes: ProductSerdes;
  let server: ApiServer;
  const deps = (overrides: Partial<ApiServerDeps> = {}): ApiServerDeps => ({
    config,
    logger,
    registry: new Registry(),
    clickhouse,
    kafka,
    schemaRegistry,
    pipelineProblem: () => pipelineProblem,
    topics,
    ...overrides,
  });
  const url = (path: string) => `http://127.0.0.1:${server.port}${path}`;
  const get = (path: string) => fetch(url(path), { headers: auth });

  beforeAll(async () => {
    clickhouse = await createClickHouse({
      database: config.clickhouse.database,
      chdbPath: config.clickhouse.chdbPath,
    });
    await migrate(clickhouse);
    admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, productTopicSpecs(config.topics, { prefix }));
    serdes = await registerProductSerdes(schemaRegistry, { prefix });
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    server = await startApiServer(deps());
    // The live consumer joins its own group from the latest offsets: ready means it is assigned.
    await waitFor('the API to be ready', async () => (await get('/ready')).status === 200, 60_000);
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    await producer?.disconnect();
    await admin?.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
    await admin?.disconnect();
    await clickhouse?.close();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('listens on the port the OS chose and answers /health without credentials', async () => {
    expect(server.port).toBeGreaterThan(0);
    const res = await fetch(url('/health'));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('applies config.http.auth to everything else', async () => {
    const res = await fetch(url('/ready'));
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
  });

  it('is ready when every dependency answers and the pipeline is assigned, and names the pipeline when not', async () => {
    const ready = await get('/ready');
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { status: string; checks: Record<string, { ok: boolean }> };
    expect(body.status).toBe('ready');
    expect(Object.keys(body.checks).sort()).toEqual(
      ['archive', 'clickhouse', 'kafka', 'live_feed', 'pipeline', 'schema_registry'].sort(),
    );
    expect(Object.values(body.checks).every((c) => c.ok)).toBe(true);

    pipelineProblem = 'no commit for 75 s while the input has lag';
    try {
      const notReady = await get('/ready');
      expect(notReady.status).toBe(503);
      const detail = (await notReady.json()) as {
        status: string;
        checks: Record<string, { ok: boolean; error?: string }>;
      };
      expect(detail.status).toBe('not_ready');
      expect(detail.checks.pipeline).toEqual({
        ok: false,
        error: 'no commit for 75 s while the input has lag',
      });
      const failing = Object.entries(detail.checks).filter(([, c]) => !c.ok);
      expect(failing.map(([name]) => name)).toEqual(['pipeline']);
    } finally {
      pipelineProblem = undefined;
    }
  });

  it('queries the ClickHouse database of the config', async () => {
    const res = await get('/api/logs');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ logs: [], next_cursor: null });
  });

  it('produces ingested logs to the configured logs topic', async () => {
    const res = await fetch(url('/api/ingest/log'), {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        timestamp: '2026-11-22T08:00:00.000Z',
        service: 'beorn',
        level: 'info',
        message: 'ingested through the API server',
      }),
    });
    expect(res.status).toBe(202);
    // Ingest produces in transactions: the topic holds the record and a commit marker, and a
    // read_committed reader sees the record alone.
    const records = await readTopic(kafka, topics.logs);
    expect(records.map((r) => JSON.parse(r.value ?? '{}') as { message: string })).toEqual([
      expect.objectContaining({ message: 'ingested through the API server' }),
    ]);
  });

  it('delivers an Avro alert from the alerts topic to a /ws/alerts client', async () => {
    const client = await openWs(`ws://127.0.0.1:${server.port}/ws/alerts?severity=error`);
    try {
      await producer.send({
        topic: topics.alerts,
        messages: [{ key: alert.rule_id, value: serdes.alerts.serialize(alert) }],
      });
      await waitFor('the alert over WebSocket', () => client.messages.length >= 1, 30_000);
      expect(client.messages).toEqual([{ type: 'alert', id: expect.any(String), data: alert }]);
    } finally {
      client.ws.close();
    }
  });

  it('refuses a port in use with ApiPortInUseError naming it, and releases what it opened', async () => {
    const busy = { ...config, http: { ...config.http, port: server.port } };
    const attempt = startApiServer(deps({ config: busy }));
    await expect(attempt).rejects.toBeInstanceOf(ApiPortInUseError);
    await expect(attempt).rejects.toThrow(`127.0.0.1:${server.port}: the port is in use`);
    // Its live consumer had joined a group of its own before the port was tried; it has left it again.
    const { groups } = await admin.listGroups();
    const live = groups
      .map((g) => g.groupId)
      .filter((id) => id.startsWith(`${config.kafka.applicationId}-live-`));
    expect(live).toHaveLength(2);
    const described = await admin.describeGroups(live);
    expect(described.groups.map((g) => g.members.length).sort()).toEqual([0, 1]);
  }, 60_000);

  // Last: closes the server the other tests share.
  it('close() disconnects live clients with a notice and stops listening', async () => {
    const client = await openWs(`ws://127.0.0.1:${server.port}/ws/alerts`);
    await server.close();
    await waitFor('the client to be closed', () => client.closed.code !== undefined);
    expect(client.closed.code).toBe(1001);
    expect(client.messages.filter((m) => m.type === 'notice')).toHaveLength(1);
    await expect(fetch(url('/health'))).rejects.toThrow();
    await server.close(); // idempotent
  }, 60_000);
});

// The server above archives to a directory; the S3 variant of its archive probe, on the local SeaweedFS.
describe('archive readiness on S3', () => {
  const s3Archive = (bucket: string) =>
    loadConfig({
      S3_ENDPOINT: localS3Endpoint(settings),
      S3_BUCKET: bucket,
      AWS_ACCESS_KEY_ID: LOCAL_S3_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: LOCAL_S3_SECRET_ACCESS_KEY,
    }).archive;

  it('is ready when the bucket exists and the credentials may use it', async () => {
    const { probe, close } = archiveProbe(s3Archive(LOCAL_S3_BUCKET), 5_000);
    try {
      await expect(probe()).resolves.toEqual({ ok: true });
    } finally {
      close();
    }
  });

  it('names the bucket when it does not exist', async () => {
    const missing = `stacklens-missing-${run}`;
    const { probe, close } = archiveProbe(s3Archive(missing), 5_000);
    try {
      await expect(probe()).resolves.toEqual({
        ok: false,
        error: expect.stringContaining(`bucket ${missing}: NotFound`),
      });
    } finally {
      close();
    }
  });
});
