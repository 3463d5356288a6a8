import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { createClient } from '@clickhouse/client';
import { Kafka, Partitioners, logLevel, type Admin, type Producer } from 'kafkajs';
import { Registry } from 'prom-client';
import { map, Subject } from 'rxjs';
import WebSocket from 'ws';
import { createLogger } from '../../common/logger';
import type { ApiDeps, ApiLimits } from '../../api/deps';
import { KafkaLiveFeed } from '../../api/live/kafka-live-feed';
import { LiveRecord } from '../../api/live/live-record';
import { openSse, startApi, waitFor, type RunningApi } from '../../api/testing/harness';
import { schemaRegistryUrl } from '../../infra/services/schema-registry';
import { stackSettingsFromEnv } from '../../infra/stack-settings';
import { ENRICHED_LOG_SCHEMA } from '../../processors/avro/schemas';
import type { Alert, LogRecord } from '../../processors/records';
import { registerAvroSchemaSerde, valueSubject, type AvroSerde } from '../../sinks/kafka/avro-serde';
import { createSchemaRegistryClient } from '../../sinks/kafka/schema-registry-client';
import { within } from '../support/wait-for';

// Live streams: WebSocket and SSE clients fed by one LiveFeed per process. The first part drives the feed
// directly (a Subject is the process's single source); the last part runs the Kafka-backed feed on the
// local broker.
const logger = createLogger({ level: 'silent', format: 'json' });
// Live routes never query ClickHouse; this client is never reached.
const clickhouse = createClient({ url: 'http://127.0.0.1:1' });
let counter = 0;

function log(overrides: Partial<LogRecord> = {}): LogRecord {
  counter++;
  return {
    id: `stacklens-test:0:${counter}:0`,
    source: 'json_log',
    time_unix_nano: `${1_760_000_000_000 + counter}000000`,
    observed_time_unix_nano: '0',
    time_ms: 1_760_000_000_000 + counter,
    trace_id: '',
    span_id: '',
    trace_flags: 0,
    severity_number: 9,
    severity_text: 'INFO',
    body: `record ${counter}`,
    event_name: '',
    resource_schema_url: '',
    resource_attributes: {},
    scope_name: '',
    scope_version: '',
    scope_schema_url: '',
    scope_attributes: {},
    log_attributes: {},
    service: 'beorn',
    env: '',
    workflow_id: '',
    circuit_id: '',
    product_id: '',
    resource_id: '',
    resource_type_id: '',
    request_id: '',
    error_code: '',
    gen_ai_input_tokens: 0,
    gen_ai_output_tokens: 0,
    redacted_count: 0,
    ...overrides,
  };
}

function alert(overrides: Partial<Alert> = {}): Alert {
  counter++;
  return {
    id: `alert-${counter}`,
    issue_code: 'PRICE_MISSING',
    severity: 'error',
    message: 'Product price is null or missing',
    suggested_fix: 'Check inventory service response',
    confidence: 0.95,
    automation_possible: true,
    automation_action: 'retry_with_fallback_price',
    related_trace_id: null,
    related_logs: [],
    created_at: '2025-01-15T10:31:00.000Z',
    created_by: 'system',
    rule_id: 'price-missing',
    service: 'beorn',
    count: 1,
    window_start: '2025-01-15T10:31:00.000Z',
    ...overrides,
  };
}

interface WsMessage {
  type: string;
  id?: string;
  code?: string;
  data?: { body?: string; id?: string; service?: string; severity?: string };
}

/** A WebSocket client that records what it receives. */
async function openWs(
  url: string,
): Promise<{ ws: WebSocket; messages: WsMessage[]; pings: number[]; closed: { code?: number } }> {
  const ws = new WebSocket(url);
  const messages: WsMessage[] = [];
  const pings: number[] = [];
  const closed: { code?: number } = {};
  ws.on('message', (data: Buffer) => messages.push(JSON.parse(data.toString('utf8')) as WsMessage));
  ws.on('ping', () => pings.push(Date.now()));
  ws.on('close', (code) => (closed.code = code));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, messages, pings, closed };
}

const bodiesOf = (messages: WsMessage[]) => messages.filter((m) => m.type === 'log').map((m) => m.data?.body);

describe('live streams', () => {
  const logs$ = new Subject<LogRecord>();
  const alerts$ = new Subject<Alert>();
  const registry = new Registry();
  let api: RunningApi;
  const opened: { close(): void }[] = [];
  const deps = (overrides: Partial<ApiDeps> & { limits?: Partial<ApiLimits> } = {}): ApiDeps => ({
    clickhouse,
    database: 'stacklens',
    live: {
      logs$: logs$.pipe(map((r) => LiveRecord.of(r))),
      alerts$: alerts$.pipe(map((a) => LiveRecord.of(a))),
    },
    ingest: { produce: () => Promise.reject(new Error('ingest is not exercised by this file')) },
    probes: {},
    registry,
    auth: { kind: 'none' },
    logger,
    ...overrides,
  });
  const wsUrl = (path: string) => `${api.baseUrl.replace('http', 'ws')}${path}`;

  beforeAll(async () => {
    api = await startApi(
      deps({ limits: { resumeBufferEvents: 5, heartbeatMs: 200, liveClientBufferBytes: 1024 * 1024 } }),
    );
  });

  afterEach(() => {
    for (const c of opened.splice(0)) c.close();
  });

  afterAll(async () => {
    await api.close();
    await clickhouse.close();
  });

  describe('WebSocket', () => {
    it('fans each record out to every client whose filters match', async () => {
      const all = await openWs(wsUrl('/ws/logs'));
      const beorn = await openWs(wsUrl('/ws/logs?service=beorn&level=warn'));
      const wf = await openWs(wsUrl('/ws/logs?workflow_id=wf-1&attr.circuit_id=C-1'));
      opened.push(all.ws, beorn.ws, wf.ws);
      await waitFor(
        'three subscribers',
        () => api.server.listenerCount('upgrade') > 0 && countOpen(registry) >= 3,
      );

      logs$.next(log({ body: 'a', service: 'beorn', severity_number: 9 }));
      logs$.next(log({ body: 'b', service: 'beorn', severity_number: 13 }));
      logs$.next(
        log({
          body: 'c',
          service: 'palantir',
          severity_number: 17,
          workflow_id: 'wf-1',
          log_attributes: { circuit_id: 'C-1' },
        }),
      );
      logs$.next(
        log({ body: 'd', service: 'palantir', workflow_id: 'wf-1', log_attributes: { circuit_id: 'C-2' } }),
      );

      await waitFor('all four records at the unfiltered client', () => bodiesOf(all.messages).length === 4);
      expect(bodiesOf(all.messages)).toEqual(['a', 'b', 'c', 'd']);
      expect(bodiesOf(beorn.messages)).toEqual(['b']);
      expect(bodiesOf(wf.messages)).toEqual(['c']);
      expect(all.messages[0]).toMatchObject({
        type: 'log',
        id: expect.stringMatching(/^[0-9a-z]+-\d+$/),
        data: { service: 'beorn' },
      });
    });

    it('matches q case-insensitively against the body, for clients with different needles', async () => {
      const upper = await openWs(wsUrl('/ws/logs?q=TIMEOUT'));
      const mixed = await openWs(wsUrl('/ws/logs?q=Refused'));
      opened.push(upper.ws, mixed.ws);
      await waitFor('subscribers', () => countOpen(registry) >= 2);
      logs$.next(log({ body: 'upstream timeout after 3s' }));
      logs$.next(log({ body: 'connection REFUSED by 10.0.0.1' }));
      logs$.next(log({ body: 'Timeout; connection refused' }));
      await waitFor(
        'matches',
        () => bodiesOf(upper.messages).length === 2 && bodiesOf(mixed.messages).length === 2,
      );
      expect(bodiesOf(upper.messages)).toEqual(['upstream timeout after 3s', 'Timeout; connection refused']);
      expect(bodiesOf(mixed.messages)).toEqual([
        'connection REFUSED by 10.0.0.1',
        'Timeout; connection refused',
      ]);
    });

    it('streams alerts with severity and service filters', async () => {
      const errors = await openWs(wsUrl('/ws/alerts?severity=error'));
      const palantir = await openWs(wsUrl('/ws/alerts?service=palantir'));
      opened.push(errors.ws, palantir.ws);
      await waitFor('subscribers', () => countOpen(registry) >= 2);
      alerts$.next(alert({ id: 'w1', severity: 'warn', service: 'palantir' }));
      alerts$.next(alert({ id: 'e1', severity: 'error', service: 'beorn' }));
      await waitFor('alerts', () => errors.messages.length === 1 && palantir.messages.length === 1);
      expect(errors.messages[0]).toMatchObject({ type: 'alert', data: { id: 'e1', severity: 'error' } });
      expect(palantir.messages[0]).toMatchObject({ type: 'alert', data: { id: 'w1' } });
    });

    it('pings to keep the connection alive', async () => {
      const client = await openWs(wsUrl('/ws/alerts'));
      opened.push(client.ws);
      await waitFor('two heartbeats', () => client.pings.length >= 2);
    });

    it('refuses an upgrade with a bad filter or an unknown path', async () => {
      await expect(openWs(wsUrl('/ws/logs?level=loud'))).rejects.toThrow(/400/);
      await expect(openWs(wsUrl('/ws/nothing'))).rejects.toThrow(/404/);
    });

    it('drops a client that stops reading, with a notice, while the others keep receiving everything', async () => {
      // Its own instance with a long heartbeat: the raw client below never answers pings.
      const bulkRegistry = new Registry();
      const bulk = await startApi(
        deps({ registry: bulkRegistry, limits: { heartbeatMs: 60_000, liveClientBufferBytes: 1024 * 1024 } }),
      );
      try {
        const fast = await openWs(`${bulk.baseUrl.replace('http', 'ws')}/ws/logs?service=bulk`);
        opened.push(fast.ws);
        const slow = await rawWebSocket(bulk.baseUrl, '/ws/logs?service=bulk');
        opened.push({ close: () => slow.destroy() });
        await waitFor('both subscribed', () => countOpen(bulkRegistry) >= 2);
        // The slow client stops reading: the kernel buffers fill, then the server's buffer for it grows.

        const big = 'x'.repeat(16 * 1024);
        let sent = 0;
        const dropped = () =>
          metricValue(bulkRegistry, 'stacklens_api_live_clients_dropped_total', 'slow_consumer') >= 1;
        while (!dropped() && sent < 8_000) {
          for (let i = 0; i < 20; i++) logs$.next(log({ service: 'bulk', body: `${sent++} ${big}` }));
          await waitFor('the fast client to keep up', () => bodiesOf(fast.messages).length === sent, 30_000);
        }
        expect(dropped()).toBe(true);
        // The others are unaffected: the fast client got every record, in order, and is still connected.
        logs$.next(log({ service: 'bulk', body: 'after the drop' }));
        await waitFor('the record after the drop', () => bodiesOf(fast.messages).length === sent + 1);
        expect(bodiesOf(fast.messages).map((b) => Number(b?.split(' ')[0]))).toEqual([
          ...Array(sent).keys(),
          NaN,
        ]);
        expect(fast.ws.readyState).toBe(WebSocket.OPEN);

        // Once it reads again, the slow client finds the notice at the end of what it was sent.
        let tail = '';
        slow.on('data', (chunk: Buffer) => (tail = (tail + chunk.toString('latin1')).slice(-4096)));
        slow.resume();
        await waitFor(
          'the slow client to be disconnected',
          () => slow.destroyed || slow.readableEnded,
          30_000,
        );
        expect(tail).toContain('{"type":"notice","code":"slow_consumer"');
      } finally {
        await bulk.close();
      }
    }, 120_000);
  });

  describe('SSE', () => {
    it('streams logs with the workflow filter, an id on every event, and heartbeats', async () => {
      const stream = await openSse(`${api.baseUrl}/sse/logs?workflow_id=wf-sse`);
      opened.push(stream);
      expect(stream.status).toBe(200);
      await waitFor('subscribed', () => countOpen(registry) >= 1);
      logs$.next(log({ body: 'other', workflow_id: 'wf-other' }));
      logs$.next(log({ body: 'mine', workflow_id: 'wf-sse' }));
      await waitFor('the matching record', () => stream.events.length === 1);
      expect(stream.events[0]).toMatchObject({ event: 'log', id: expect.stringMatching(/^[0-9a-z]+-\d+$/) });
      expect(JSON.parse(stream.events[0]!.data)).toMatchObject({ body: 'mine', workflow_id: 'wf-sse' });
      await waitFor('a heartbeat', () => stream.comments.some((c) => c.startsWith('heartbeat')));
    });

    it('resumes from Last-Event-ID without gaps or repeats', async () => {
      const first = await openSse(`${api.baseUrl}/sse/logs?service=resume`);
      opened.push(first);
      await waitFor('subscribed', () => countOpen(registry) >= 1);
      logs$.next(log({ service: 'resume', body: 'r1' }));
      logs$.next(log({ service: 'resume', body: 'r2' }));
      await waitFor('two events', () => first.events.length === 2);
      first.close();
      await waitFor('disconnected', () => countOpen(registry) === 0);

      logs$.next(log({ service: 'resume', body: 'r3' }));
      logs$.next(log({ service: 'elsewhere', body: 'not for this client' }));
      logs$.next(log({ service: 'resume', body: 'r4' }));

      const resumed = await openSse(`${api.baseUrl}/sse/logs?service=resume`, {
        'Last-Event-ID': first.events[1]!.id!,
      });
      opened.push(resumed);
      await waitFor('the missed events', () => resumed.events.length === 2);
      logs$.next(log({ service: 'resume', body: 'r5' }));
      await waitFor('the live event', () => resumed.events.length === 3);
      expect(resumed.events.map((e) => JSON.parse(e.data).body)).toEqual(['r3', 'r4', 'r5']);
      expect(resumed.events.some((e) => e.event === 'notice')).toBe(false);
    });

    it('says so with a gap notice when the missed events are no longer buffered', async () => {
      const first = await openSse(`${api.baseUrl}/sse/logs?service=gap`);
      opened.push(first);
      await waitFor('subscribed', () => countOpen(registry) >= 1);
      logs$.next(log({ service: 'gap', body: 'g1' }));
      await waitFor('one event', () => first.events.length === 1);
      first.close();
      for (let i = 0; i < 10; i++) logs$.next(log({ service: 'gap', body: `g${i + 2}` })); // buffer holds 5
      const resumed = await openSse(
        `${api.baseUrl}/sse/logs?service=gap&last_event_id=${first.events[0]!.id!}`,
      );
      opened.push(resumed);
      await waitFor('notice and buffered events', () => resumed.events.length === 6);
      expect(resumed.events[0]).toMatchObject({ event: 'notice' });
      expect(JSON.parse(resumed.events[0]!.data)).toMatchObject({ code: 'gap' });
      expect(resumed.events.slice(1).map((e) => JSON.parse(e.data).body)).toEqual([
        'g7',
        'g8',
        'g9',
        'g10',
        'g11',
      ]);
    });

    it('streams alerts', async () => {
      const stream = await openSse(`${api.baseUrl}/sse/alerts?severity=warn`);
      opened.push(stream);
      await waitFor('subscribed', () => countOpen(registry) >= 1);
      alerts$.next(alert({ id: 'i1', severity: 'info' }));
      alerts$.next(alert({ id: 'w2', severity: 'warn' }));
      await waitFor('the warn alert', () => stream.events.length === 1);
      expect(stream.events[0]).toMatchObject({ event: 'alert' });
      expect(JSON.parse(stream.events[0]!.data)).toMatchObject({ id: 'w2' });
    });

    it('answers 400 naming a bad filter', async () => {
      const res = await fetch(`${api.baseUrl}/sse/logs?level=loud`);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({
        error: 'bad_parameter',
        detail: expect.stringMatching(/^level: /),
      });
    });
  });

  it('bounds live connections per process, WebSocket and SSE together', async () => {
    const small = await startApi(deps({ registry: new Registry(), limits: { maxLiveConnections: 2 } }));
    const clients: { close(): void }[] = [];
    try {
      clients.push((await openWs(`${small.baseUrl.replace('http', 'ws')}/ws/logs`)).ws);
      const sse = await openSse(`${small.baseUrl}/sse/logs`);
      clients.push(sse);
      expect(sse.status).toBe(200);
      const refused = await fetch(`${small.baseUrl}/sse/alerts`);
      expect(refused.status).toBe(429);
      await expect(openWs(`${small.baseUrl.replace('http', 'ws')}/ws/alerts`)).rejects.toThrow(/429/);
      clients.pop()!.close();
      await waitFor('a free slot', async () => {
        const retry = await openSse(`${small.baseUrl}/sse/alerts`);
        clients.push(retry);
        return retry.status === 200;
      });
    } finally {
      for (const c of clients) c.close();
      await small.close();
    }
  });

  describe('Kafka-backed feed on the local broker', () => {
    const settings = stackSettingsFromEnv();
    const kafka = new Kafka({
      clientId: 'stacklens-api-live-it',
      brokers: [`${settings.host}:${settings.kafkaPort}`],
      // Warnings and errors only (a passing run has none): when the setup below stalls, kafkajs's
      // retries and timeouts say where.
      logLevel: logLevel.WARN,
      logCreator:
        () =>
        ({ namespace, label, log: entry }) =>
          console.warn(`kafkajs ${label} ${namespace}: ${JSON.stringify(entry)}`),
    });
    const run = randomUUID().slice(0, 8);
    const topics = { logs: `api-it-enriched-${run}`, alerts: `api-it-alerts-${run}` };
    let admin: Admin;
    let producer: Producer;
    let feed: KafkaLiveFeed;
    let kafkaApi: RunningApi;
    const registry = createSchemaRegistryClient({
      url: schemaRegistryUrl(settings),
      requestTimeoutMs: 15_000,
    });
    let enriched: AvroSerde<LogRecord>;
    const fedBodies: string[] = [];

    // Each step is bounded and named: this setup once stalled in CI until the hook's timeout, before the
    // feed's consumer sent its JoinGroup, and the bare timeout did not say in which step.
    beforeAll(async () => {
      admin = kafka.admin();
      await within('admin.connect()', admin.connect());
      await within(
        'createTopics',
        admin.createTopics({
          waitForLeaders: true,
          topics: [{ topic: topics.logs, numPartitions: 3 }, { topic: topics.alerts }],
        }),
      );
      producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
      await within('producer.connect()', producer.connect());
      enriched = await within(
        'the schema registration',
        registerAvroSchemaSerde<LogRecord>(registry, valueSubject(topics.logs), ENRICHED_LOG_SCHEMA),
        // The client's own bound: four attempts of 15 s.
        75_000,
      );
      feed = new KafkaLiveFeed({
        kafka,
        groupPrefix: `api-it-${run}`,
        logsTopic: topics.logs,
        alertsTopic: topics.alerts,
        registry,
        logger,
      });
      kafkaApi = await within(
        'startApi',
        startApi(
          deps({ registry: new Registry(), live: feed, probes: { live_consumer: () => feed.probe() } }),
        ),
      );
      feed.logs$.subscribe((r) => fedBodies.push(r.read()?.body ?? '(undecodable)'));
      await within('feed.start()', feed.start());
      // start() resolves once the consumer joined its group, before KafkaJS's first fetch: the window in
      // which a feed that left its position to a lazy `latest` skipped what was produced.
      await within(
        'producer.send()',
        producer.send({
          topic: topics.logs,
          messages: [{ value: JSON.stringify(log({ body: 'at-start' })) }],
        }),
      );
      await waitFor(
        'the live consumer to be assigned',
        async () => (await fetch(`${kafkaApi.baseUrl}/ready`)).status === 200,
        60_000,
      );
    }, 360_000);

    afterAll(async () => {
      await kafkaApi?.close();
      await feed?.stop();
      await producer?.disconnect();
      await admin?.deleteTopics({ topics: [topics.logs, topics.alerts] }).catch(() => undefined);
      await admin?.disconnect();
    }, 60_000);

    it('delivers a record produced as soon as start() resolved', async () => {
      await waitFor('the record produced right after start()', () => fedBodies.includes('at-start'), 30_000);
    }, 60_000);

    it('delivers records and alerts produced to the topics to WebSocket and SSE clients', async () => {
      const base = kafkaApi.baseUrl;
      const ws = await openWs(`${base.replace('http', 'ws')}/ws/logs?workflow_id=wf-kafka`);
      const sse = await openSse(`${base}/sse/logs?workflow_id=wf-kafka`);
      const alertsWs = await openWs(`${base.replace('http', 'ws')}/ws/alerts`);
      opened.push(ws.ws, sse, alertsWs.ws);

      const records = [
        log({ body: 'k1', workflow_id: 'wf-kafka' }),
        log({ body: 'k2', workflow_id: 'wf-other' }),
        log({ body: 'k3', workflow_id: 'wf-kafka' }),
      ];
      await producer.send({
        topic: topics.logs,
        messages: records.map((r) => ({ key: r.workflow_id, value: JSON.stringify(r) })),
      });
      await producer.send({
        topic: topics.alerts,
        messages: [{ value: JSON.stringify(alert({ id: 'kafka-alert' })) }],
      });

      await waitFor(
        'records over WebSocket and SSE, and the alert',
        () => bodiesOf(ws.messages).length === 2 && sse.events.length === 2 && alertsWs.messages.length === 1,
        30_000,
      );
      expect(bodiesOf(ws.messages)).toEqual(['k1', 'k3']);
      expect(sse.events.map((e) => JSON.parse(e.data).body)).toEqual(['k1', 'k3']);
      expect(alertsWs.messages[0]).toMatchObject({ type: 'alert', data: { id: 'kafka-alert' } });
    }, 60_000);

    it('decodes Avro records for clients and skips undecodable ones without breaking the stream', async () => {
      const base = kafkaApi.baseUrl;
      const ws = await openWs(`${base.replace('http', 'ws')}/ws/logs?workflow_id=wf-avro`);
      const sse = await openSse(`${base}/sse/logs?workflow_id=wf-avro`);
      opened.push(ws.ws, sse);
      const framed = (schemaId: number, payload: Buffer) => {
        const header = Buffer.alloc(5);
        header.writeInt32BE(schemaId, 1);
        return Buffer.concat([header, payload]);
      };
      // One partition, so the order below is the order read.
      await producer.send({
        topic: topics.logs,
        messages: [
          enriched.serialize(log({ body: 'a1', workflow_id: 'wf-avro' }))!,
          framed(enriched.schemaId, Buffer.from([0xff, 0xff, 0xff])), // a known schema, bytes it cannot read
          framed(2_000_000_000, Buffer.from([0x02])), // a schema id the registry does not know
          enriched.serialize(log({ body: 'a2', workflow_id: 'wf-avro' }))!,
        ].map((value) => ({ value, partition: 0 })),
      });

      await waitFor(
        'both Avro records over WebSocket and SSE',
        () => bodiesOf(ws.messages).length === 2 && sse.events.length === 2,
        30_000,
      );
      expect(bodiesOf(ws.messages)).toEqual(['a1', 'a2']);
      expect(sse.events.map((e) => JSON.parse(e.data).body)).toEqual(['a1', 'a2']);
    }, 60_000);
  });
});

function countOpen(registry: Registry): number {
  const metric = registry.getSingleMetric('stacklens_api_live_connections') as unknown as
    { hashMap: Record<string, { value: number }> } | undefined;
  return Object.values(metric?.hashMap ?? {}).reduce((sum, v) => sum + v.value, 0);
}

function metricValue(registry: Registry, name: string, reason: string): number {
  const metric = registry.getSingleMetric(name) as unknown as
    { hashMap: Record<string, { value: number; labels: { reason?: string } }> } | undefined;
  return Object.values(metric?.hashMap ?? {}).find((v) => v.labels.reason === reason)?.value ?? 0;
}

/** A WebSocket handshake over a bare TCP socket, so the test controls when (and whether) it reads. */
async function rawWebSocket(baseUrl: string, path: string): Promise<Socket> {
  const { hostname, port } = new URL(baseUrl);
  const socket = connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${Buffer.from(randomUUID().slice(0, 16)).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  await new Promise<void>((resolve, reject) => {
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (head.includes('\r\n\r\n')) {
        socket.off('data', onData);
        socket.pause();
        if (head.startsWith('HTTP/1.1 101')) resolve();
        else reject(new Error(head.split('\r\n')[0]));
      }
    };
    socket.on('data', onData);
  });
  return socket;
}
