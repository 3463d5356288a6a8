import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { createClient } from '@clickhouse/client';
import { Registry } from 'prom-client';
import { map, Subject } from 'rxjs';
import WebSocket from 'ws';
import { createLogger } from '../../common/logger';
import type { ApiDeps, ApiLimits } from '../../api/deps';
import { LiveRecord } from '../../api/live/live-record';
import { openSse, startApi, type RunningApi } from '../../api/testing/harness';
import type { Alert, LogRecord } from '../../processors/records';
import { waitFor } from '../support/wait-for';

// Hostile requests against a running API (one per class): malformed request lines, URLs and headers on
// the HTTP and WebSocket paths; thousands of failed handshakes; other sites' pages; resumes from ids the
// server cannot place. After each, the process still serves /health and live clients.
const logger = createLogger({ level: 'silent', format: 'json' });
// Live and guard paths never query ClickHouse; this client is never reached.
const clickhouse = createClient({ url: 'http://127.0.0.1:1' });
const logs$ = new Subject<LogRecord>();
const alerts$ = new Subject<Alert>();
let counter = 0;

function log(body: string): LogRecord {
  counter++;
  return {
    id: `hardening:0:${counter}:0`,
    source: 'json_log',
    time_unix_nano: `${1_760_000_000_000 + counter}000000`,
    observed_time_unix_nano: '0',
    time_ms: 1_760_000_000_000 + counter,
    trace_id: '',
    span_id: '',
    trace_flags: 0,
    severity_number: 9,
    severity_text: 'INFO',
    body,
    event_name: '',
    resource_schema_url: '',
    resource_attributes: {},
    scope_name: '',
    scope_version: '',
    scope_schema_url: '',
    scope_attributes: {},
    log_attributes: {},
    service: 'hardening',
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
  };
}

const running: RunningApi[] = [];
async function api(
  limits: Partial<ApiLimits> = {},
  requestPolicy?: ApiDeps['requestPolicy'],
): Promise<RunningApi> {
  const started = await startApi({
    clickhouse,
    database: 'stacklens',
    live: {
      logs$: logs$.pipe(map((r) => LiveRecord.of(r))),
      alerts$: alerts$.pipe(map((a) => LiveRecord.of(a))),
    },
    ingest: { produce: () => Promise.reject(new Error('ingest is not exercised by this file')) },
    probes: {},
    registry: new Registry(),
    auth: { kind: 'none' },
    logger,
    limits,
    requestPolicy,
  });
  running.push(started);
  return started;
}

afterAll(async () => {
  for (const r of running) await r.close();
  await clickhouse.close();
});

interface RawResponse {
  status: number;
  head: string;
  body: string;
}

/**
 * Sends `request` as raw bytes (so it can be anything a client could send) and reads the response head
 * and body; resolves with status 0 when the server closes without answering.
 */
function rawRequest(baseUrl: string, request: string): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = '';
    const settle = () => {
      socket.destroy();
      const end = received.indexOf('\r\n\r\n');
      const head = end < 0 ? received : received.slice(0, end);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      resolve({ status, head, body: end < 0 ? '' : received.slice(end + 4) });
    };
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = /\r\ncontent-length: (\d+)/i.exec(received.slice(0, end))?.[1];
      if (length !== undefined && received.length - end - 4 >= Number(length)) settle();
    });
    socket.on('close', settle);
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // The server may answer and close before it has read all of an oversized request.
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') settle();
      else reject(error);
    });
    socket.write(request);
  });
}

const key = () => Buffer.from(randomUUID().slice(0, 16)).toString('base64');
const upgradeHeaders = (host: string) =>
  `Host: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key()}\r\n` +
  'Sec-WebSocket-Version: 13\r\n';

async function healthy(baseUrl: string): Promise<void> {
  const res = await fetch(`${baseUrl}/health`);
  expect(res.status).toBe(200);
}

async function openWs(url: string, options: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, options);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return ws;
}

describe('malformed request lines, URLs and headers', () => {
  let server: RunningApi;
  let host: string;
  beforeAll(async () => {
    server = await api();
    host = new URL(server.baseUrl).host;
  });

  it.each([
    [
      'GET // with Upgrade: websocket',
      () => `GET // HTTP/1.1\r\n${upgradeHeaders(host)}\r\n`,
      404,
      /no WebSocket/,
    ],
    ['GET // without Upgrade', () => `GET // HTTP/1.1\r\nHost: ${host}\r\n\r\n`, 404, /no route/],
    [
      'bad percent-encoding on the upgrade path',
      () => `GET /ws/logs?q=%E0%A4%A HTTP/1.1\r\n${upgradeHeaders(host)}\r\n`,
      400,
      /malformed percent-encoding/,
    ],
    [
      'bad percent-encoding in a path parameter',
      () => `GET /api/traces/%zz HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
      400,
      /malformed percent-encoding/,
    ],
    [
      'an escape that is not UTF-8 in a filter',
      () => `GET /sse/logs?service=%ff HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
      400,
      /malformed percent-encoding/,
    ],
    [
      'a request target that is not a path, on the upgrade path',
      () => `GET * HTTP/1.1\r\n${upgradeHeaders(host)}\r\n`,
      400,
      /neither a path nor an http\(s\) URL/,
    ],
    [
      'a Host header that is not host[:port]',
      () => `GET /ws/logs HTTP/1.1\r\n${upgradeHeaders('exa mple:99999')}\r\n`,
      400,
      /Host header/,
    ],
    [
      'an oversized Last-Event-ID',
      () => `GET /sse/logs HTTP/1.1\r\nHost: ${host}\r\nLast-Event-ID: ${'9'.repeat(500)}\r\n\r\n`,
      400,
      /Last-Event-ID: must be one event id/,
    ],
  ])('%s: a 4xx naming the problem, and /health still answers', async (_what, request, status, detail) => {
    const res = await rawRequest(server.baseUrl, request());
    expect(res.status).toBe(status);
    expect(res.body).toMatch(detail);
    expect(res.body).not.toMatch(/at .*\.ts:\d+/); // never a stack
    await healthy(server.baseUrl);
  });

  it.each([
    ['without', ''],
    ['with', 'Upgrade: websocket\r\nConnection: Upgrade\r\n'],
  ])('refuses an absurdly long URL %s Upgrade with a 4xx', async (_what, upgrade) => {
    const res = await rawRequest(
      server.baseUrl,
      `GET /ws/logs?q=${'a'.repeat(100_000)} HTTP/1.1\r\nHost: ${host}\r\n${upgrade}\r\n`,
    );
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    await healthy(server.baseUrl);
  });
});

describe('live connection slots', () => {
  it('survives 2,000 failed WebSocket handshakes and abandoned connections, then serves WS and SSE clients', async () => {
    // Twenty slots: a leak of even one slot per hundred failures would exhaust them.
    const server = await api({ maxLiveConnections: 20 });
    const host = new URL(server.baseUrl).host;
    const failures = [
      // ws refuses these handshakes itself (400) after the API granted the slot.
      () => `GET /ws/logs HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n`,
      () =>
        `GET /ws/alerts HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key()}\r\nSec-WebSocket-Version: 7\r\n\r\n`,
    ];
    let refused = 0;
    for (let batch = 0; batch < 100; batch++) {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => rawRequest(server.baseUrl, failures[i % 2]!())),
      );
      refused += results.filter((r) => r.status === 400).length;
    }
    expect(refused).toBe(2_000);

    // Clients that leave during or right after a valid handshake, and SSE clients that go away.
    const { hostname, port } = new URL(server.baseUrl);
    for (let i = 0; i < 100; i++) {
      const socket = connect(Number(port), hostname);
      socket.on('error', () => undefined);
      socket.write(`GET /ws/logs HTTP/1.1\r\n${upgradeHeaders(host)}\r\n`);
      await new Promise<void>((resolve) => {
        socket.once(i % 2 === 0 ? 'connect' : 'data', () => {
          socket.destroy();
          resolve();
        });
      });
    }
    for (let i = 0; i < 100; i++) (await openSse(`${server.baseUrl}/sse/logs`)).close();

    // Every slot is back: twenty clients at once are served, a working one receives a record.
    const wsUrl = `${server.baseUrl.replace('http', 'ws')}/ws/logs?service=hardening`;
    const received: string[] = [];
    const clients: { close(): void }[] = [];
    await waitFor(
      'every slot to be free',
      async () => {
        for (const c of clients.splice(0)) c.close();
        const attempts = await Promise.allSettled(Array.from({ length: 19 }, () => openWs(wsUrl)));
        for (const a of attempts) if (a.status === 'fulfilled') clients.push(a.value);
        return attempts.every((a) => a.status === 'fulfilled');
      },
      30_000,
    );
    try {
      const sse = await openSse(`${server.baseUrl}/sse/logs?service=hardening`);
      clients.push(sse);
      expect(sse.status).toBe(200);
      (clients[0] as WebSocket).on('message', (data: Buffer) =>
        received.push((JSON.parse(data.toString('utf8')) as { data: { body: string } }).data.body),
      );
      logs$.next(log('after the storm'));
      await waitFor('the record over WS and SSE', () => received.length === 1 && sse.events.length === 1);
      expect(received).toEqual(['after the storm']);
      await healthy(server.baseUrl);
    } finally {
      for (const c of clients) c.close();
    }
  }, 120_000);
});

describe('Origin allowlist and Host check', () => {
  let server: RunningApi;
  let wsBase: string;
  beforeAll(async () => {
    server = await api(
      {},
      { allowedOrigins: ['http://dash.example.com'], allowedHosts: ['stacklens.internal'] },
    );
    wsBase = server.baseUrl.replace('http', 'ws');
  });

  it('refuses a cross-origin WebSocket and SSE with 403, and serves same-origin, allowed and no-Origin clients', async () => {
    await expect(openWs(`${wsBase}/ws/logs`, { origin: 'http://evil.example' })).rejects.toThrow(/403/);
    await expect(openWs(`${wsBase}/ws/logs`, { origin: 'null' })).rejects.toThrow(/403/);
    const refused = await rawRequest(
      server.baseUrl,
      `GET /sse/logs HTTP/1.1\r\nHost: ${new URL(server.baseUrl).host}\r\nOrigin: http://evil.example\r\n\r\n`,
    );
    expect(refused.status).toBe(403);
    expect(refused.body).toMatch(/forbidden_origin/);

    const clients = [
      await openWs(`${wsBase}/ws/logs`),
      await openWs(`${wsBase}/ws/logs`, { origin: server.baseUrl }),
      await openWs(`${wsBase}/ws/alerts`, { origin: 'http://dash.example.com' }),
    ];
    const sse = await openSse(`${server.baseUrl}/sse/logs`, { origin: server.baseUrl });
    try {
      expect(clients.map((c) => c.readyState)).toEqual([WebSocket.OPEN, WebSocket.OPEN, WebSocket.OPEN]);
      expect(sse.status).toBe(200);
    } finally {
      for (const c of clients) c.close();
      sse.close();
    }
  });

  it('refuses a Host name a DNS-rebinding page would send (421), and serves loopback names, IPs and listed hosts', async () => {
    const port = new URL(server.baseUrl).port;
    const get = (host: string) => rawRequest(server.baseUrl, `GET /health HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    const rebound = await get(`attacker.example:${port}`);
    expect(rebound.status).toBe(421);
    expect(rebound.body).toMatch(/API_ALLOWED_HOSTS/);
    const upgrade = await rawRequest(
      server.baseUrl,
      `GET /ws/logs HTTP/1.1\r\n${upgradeHeaders('attacker.example')}\r\n`,
    );
    expect(upgrade.status).toBe(421);
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      `[::1]:${port}`,
      'app.localhost',
      'stacklens.internal',
    ])
      expect({ host, status: (await get(host)).status }).toEqual({ host, status: 200 });
  });
});

describe('Last-Event-ID resume', () => {
  it('resumes an unknown id at the live tail, and bounds a known one to the client buffer', async () => {
    const server = await api({ resumeBufferEvents: 1_000, liveClientBufferBytes: 64 * 1024 });
    const first = await openSse(`${server.baseUrl}/sse/logs?service=hardening`);
    const padding = 'x'.repeat(1_000);
    // In batches the first client reads before the next: it must not be dropped as a slow consumer.
    for (let i = 0; i < 1_000; i++) {
      logs$.next(log(`r${i} ${padding}`));
      if (i % 20 === 19) await waitFor('the first client to keep up', () => first.events.length === i + 1);
    }
    const firstId = first.events[0]!.id!;
    first.close();

    const unknown = await openSse(`${server.baseUrl}/sse/logs?service=hardening`, {
      'Last-Event-ID': 'somewhere-else-42',
    });
    const bounded = await openSse(`${server.baseUrl}/sse/logs?service=hardening`, {
      'Last-Event-ID': firstId,
    });
    try {
      logs$.next(log('live'));
      const bodies = (s: typeof unknown) =>
        s.events
          .filter((e) => e.event === 'log')
          .map((e) => (JSON.parse(e.data) as LogRecord).body.split(' ')[0]);
      await waitFor(
        'the live record',
        () => bodies(unknown).includes('live') && bodies(bounded).includes('live'),
      );

      // Unknown: a gap notice, then nothing but what is live.
      expect(unknown.events[0]).toMatchObject({ event: 'notice' });
      expect(JSON.parse(unknown.events[0]!.data)).toMatchObject({ code: 'gap' });
      expect(bodies(unknown)).toEqual(['live']);

      // Known but far behind: a gap notice, then the newest events that fit in 64 KiB, contiguous up to live.
      expect(JSON.parse(bounded.events[0]!.data)).toMatchObject({ code: 'gap' });
      const replayed = bodies(bounded).slice(0, -1);
      expect(replayed.length).toBeGreaterThan(10);
      expect(replayed.length).toBeLessThan(70);
      const expected = Array.from({ length: replayed.length }, (_, i) => `r${1_000 - replayed.length + i}`);
      expect(replayed).toEqual(expected);
    } finally {
      unknown.close();
      bounded.close();
    }
  }, 60_000);
});
