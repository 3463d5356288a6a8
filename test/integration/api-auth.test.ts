import { createClient } from '@clickhouse/client';
import { Registry } from 'prom-client';
import { Subject } from 'rxjs';
import WebSocket from 'ws';
import { createLogger } from '../../common/logger';
import type { ApiDeps } from '../../api/deps';
import type { LiveRecord } from '../../api/live/live-record';
import { openSse, startApi, type RunningApi } from '../../api/testing/harness';
import type { Alert, LogRecord } from '../../processors/records';

// Optional auth applies alike to REST, WebSocket, SSE and ingest; /health stays open.
const logger = createLogger({ level: 'silent', format: 'json' });
const clickhouse = createClient({ url: 'http://127.0.0.1:1' }); // these routes never reach ClickHouse
const TOKEN = 'tok-0123456789abcdef-secret';
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

function wsStatus(url: string, headers: Record<string, string> = {}): Promise<number | 'open'> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => {
      ws.close();
      resolve('open');
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('error', (error) =>
      /Unexpected server response/.test(error.message) ? undefined : reject(error),
    );
  });
}

describe('API authentication', () => {
  const servers: RunningApi[] = [];
  const deps = (auth: ApiDeps['auth']): ApiDeps => ({
    clickhouse,
    database: 'stacklens',
    live: { logs$: new Subject<LiveRecord<LogRecord>>(), alerts$: new Subject<LiveRecord<Alert>>() },
    ingest: { produce: () => Promise.resolve() },
    probes: {},
    registry: new Registry(),
    auth,
    logger,
  });

  afterAll(async () => {
    for (const s of servers) await s.close();
    await clickhouse.close();
  });

  describe('token', () => {
    let api: RunningApi;
    beforeAll(async () => {
      api = await startApi(deps({ kind: 'token', token: TOKEN }));
      servers.push(api);
    });

    it('rejects REST requests without the token and accepts them with it; /health stays open', async () => {
      const denied = await fetch(`${api.baseUrl}/ready`);
      expect(denied.status).toBe(401);
      expect(denied.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(await denied.json()).toEqual({
        error: 'unauthorized',
        detail: 'missing or invalid credentials',
      });
      expect(
        (
          await fetch(`${api.baseUrl}/ready`, {
            headers: { authorization: 'Bearer wrong-token-wrong-token' },
          })
        ).status,
      ).toBe(401);
      expect(
        (await fetch(`${api.baseUrl}/ready`, { headers: { authorization: `Bearer ${TOKEN}` } })).status,
      ).toBe(200);
      expect((await fetch(`${api.baseUrl}/openapi.json?access_token=${TOKEN}`)).status).toBe(200);
      expect((await fetch(`${api.baseUrl}/health`)).status).toBe(200);
      expect((await fetch(`${api.baseUrl}/metrics`)).status).toBe(401);
    });

    it('guards ingest, including OTLP (answered with a google.rpc.Status)', async () => {
      const otlp = await fetch(`${api.baseUrl}/v1/logs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"resourceLogs":[]}',
      });
      expect(otlp.status).toBe(401);
      expect(await otlp.json()).toEqual({ code: 16, message: 'missing or invalid credentials' });
      const ok = await fetch(`${api.baseUrl}/v1/logs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        body: '{"resourceLogs":[]}',
      });
      expect(ok.status).toBe(200);
    });

    it('guards WebSocket upgrades (header or access_token parameter)', async () => {
      const ws = api.baseUrl.replace('http', 'ws');
      expect(await wsStatus(`${ws}/ws/logs`)).toBe(401);
      expect(await wsStatus(`${ws}/ws/alerts?access_token=nope`)).toBe(401);
      expect(await wsStatus(`${ws}/ws/logs`, { authorization: `Bearer ${TOKEN}` })).toBe('open');
      expect(await wsStatus(`${ws}/ws/alerts?access_token=${TOKEN}`)).toBe('open');
    });

    it('guards SSE streams', async () => {
      const denied = await openSse(`${api.baseUrl}/sse/logs`);
      expect(denied.status).toBe(401);
      const allowed = await openSse(`${api.baseUrl}/sse/alerts?access_token=${TOKEN}`);
      try {
        expect(allowed.status).toBe(200);
      } finally {
        allowed.close();
      }
    });
  });

  describe('basic', () => {
    let api: RunningApi;
    beforeAll(async () => {
      api = await startApi(deps({ kind: 'basic', username: 'ops', password: 's3cret:pass' }));
      servers.push(api);
    });

    it('accepts only the configured user and password, on REST, SSE and WebSocket', async () => {
      const denied = await fetch(`${api.baseUrl}/openapi.json`);
      expect(denied.status).toBe(401);
      expect(denied.headers.get('www-authenticate')).toMatch(/^Basic/);
      expect(
        (await fetch(`${api.baseUrl}/openapi.json`, { headers: { authorization: basic('ops', 'wrong') } }))
          .status,
      ).toBe(401);
      expect(
        (
          await fetch(`${api.baseUrl}/openapi.json`, {
            headers: { authorization: basic('other', 's3cret:pass') },
          })
        ).status,
      ).toBe(401);
      const doc = await fetch(`${api.baseUrl}/openapi.json`, {
        headers: { authorization: basic('ops', 's3cret:pass') },
      });
      expect(doc.status).toBe(200);
      expect(((await doc.json()) as { components: unknown }).components).toEqual({
        securitySchemes: { basic: { type: 'http', scheme: 'basic' } },
      });

      const sse = await openSse(`${api.baseUrl}/sse/logs`, { authorization: basic('ops', 's3cret:pass') });
      try {
        expect(sse.status).toBe(200);
      } finally {
        sse.close();
      }
      const ws = api.baseUrl.replace('http', 'ws');
      expect(await wsStatus(`${ws}/ws/logs`)).toBe(401);
      expect(await wsStatus(`${ws}/ws/logs`, { authorization: basic('ops', 's3cret:pass') })).toBe('open');
      expect((await fetch(`${api.baseUrl}/health`)).status).toBe(200);
    });
  });
});
