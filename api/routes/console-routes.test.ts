import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@clickhouse/client';
import { Registry } from 'prom-client';
import { Subject } from 'rxjs';
import { createLogger } from '../../common/logger';
import type { Alert, LogRecord } from '../../processors/records';
import type { ApiDeps } from '../deps';
import type { LiveRecord } from '../live/live-record';
import { startApi, type RunningApi } from '../testing/harness';
import { CONSOLE_CSP } from './console-routes';

const clickhouse = createClient({ url: 'http://127.0.0.1:1' }); // never reached by these routes
const deps = (consoleDir: string | undefined): ApiDeps => ({
  clickhouse,
  database: 'stacklens',
  live: { logs$: new Subject<LiveRecord<LogRecord>>(), alerts$: new Subject<LiveRecord<Alert>>() },
  ingest: { produce: () => Promise.resolve() },
  probes: {},
  registry: new Registry(),
  auth: { kind: 'token', token: 'console-routes-token-0123456789' },
  logger: createLogger({ level: 'silent', format: 'json' }),
  consoleDir,
});

describe('console routes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stacklens-console-routes-'));
  const apis: RunningApi[] = [];
  beforeAll(() => {
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>StackLens</title>');
    writeFileSync(join(dir, 'assets', 'main-ABC123.js'), 'console.log(1)');
  });
  afterAll(async () => {
    for (const api of apis) await api.close();
    await clickhouse.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the page and its assets without credentials, the page revalidated and the assets immutable', async () => {
    const api = await startApi(deps(dir));
    apis.push(api);
    const page = await fetch(`${api.baseUrl}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(page.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(await page.text()).toContain('<title>StackLens</title>');

    const asset = await fetch(`${api.baseUrl}/assets/main-ABC123.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(asset.headers.get('x-content-type-options')).toBe('nosniff');

    // Nothing else opens: no other file, no directory listing, and the API still asks for credentials.
    expect((await fetch(`${api.baseUrl}/assets/`)).status).toBe(401);
    expect((await fetch(`${api.baseUrl}/index.html`)).status).toBe(401);
    expect((await fetch(`${api.baseUrl}//`)).status).toBe(401);
    const traversal = await fetch(`${api.baseUrl}/assets/%2e%2e/index.html`);
    expect(traversal.status).toBeGreaterThanOrEqual(400);
    expect(await traversal.text()).not.toContain('<title>');
    expect((await fetch(`${api.baseUrl}/api/alerts`)).status).toBe(401);
  });

  it('answers 404 saying how to build the console when there is none', async () => {
    const api = await startApi(deps(undefined));
    apis.push(api);
    const response = await fetch(`${api.baseUrl}/`);
    expect(response.status).toBe(404);
    expect(((await response.json()) as { detail: string }).detail).toMatch(/npm run build:web/);
  });
});
