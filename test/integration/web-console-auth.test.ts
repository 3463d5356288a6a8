import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Browser, Page } from 'playwright-core';
import { Registry } from 'prom-client';
import { map, Subject } from 'rxjs';
import type { ApiDeps } from '../../api/deps';
import { LiveRecord } from '../../api/live/live-record';
import { startApi, type RunningApi } from '../../api/testing/harness';
import { createLogger } from '../../common/logger';
import type { Alert, LogRecord } from '../../processors/records';
import { createClickHouse } from '../../sinks/clickhouse/client';
import { migrate } from '../../sinks/clickhouse/migrations';
import { buildConsole, launchChromium, SCREENSHOTS_DIR, watchPage } from '../support/web-console';

// The console's login step in headless Chromium against the API with API_AUTH on: wrong credentials
// are refused and nothing is shown; the right ones are kept for the browser tab and sent on REST
// (the alerts history from chDB) and on the WebSocket (an alert pushed through the live feed).

jest.setTimeout(120_000);

const TOKEN = 'console-token-0123456789abcdef';
const logger = createLogger({ level: 'silent', format: 'json' });
let chdbDir: string;
let clickhouse: ClickHouseClient;
let consoleDir: string;
let browser: Browser;
let counter = 0;

function alert(): Alert {
  counter++;
  return {
    id: `console-auth-${counter}`,
    issue_code: 'PAYMENT_FAILURE',
    severity: 'error',
    message: `Payment failed: card declined by issuer (${counter})`,
    suggested_fix: 'Check the payment provider',
    confidence: 0.9,
    automation_possible: false,
    automation_action: null,
    related_trace_id: null,
    related_logs: [],
    created_at: new Date().toISOString(),
    created_by: 'system',
    rule_id: 'payment-failure',
    service: 'beorn',
    count: 1,
    window_start: new Date().toISOString(),
  };
}

beforeAll(async () => {
  consoleDir = buildConsole();
  browser = await launchChromium();
  chdbDir = mkdtempSync(join(tmpdir(), 'stacklens-console-auth-'));
  clickhouse = await createClickHouse({ database: 'stacklens', chdbPath: chdbDir });
  await migrate(clickhouse);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await clickhouse?.close();
  for (const dir of [consoleDir, chdbDir])
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe.each([
  {
    auth: { kind: 'token', token: TOKEN } as const,
    fill: async (page: Page, right: boolean) => {
      await page.fill('input[name="token"]', right ? TOKEN : 'not-the-token-0123456789');
    },
  },
  {
    auth: { kind: 'basic', username: 'ops', password: 'pä:ss word' } as const,
    fill: async (page: Page, right: boolean) => {
      await page.fill('input[name="username"]', 'ops');
      await page.fill('input[name="password"]', right ? 'pä:ss word' : 'wrong');
    },
  },
])('web console login with API_AUTH=$auth.kind', ({ auth, fill }) => {
  let api: RunningApi;
  let page: Page;
  let watched: ReturnType<typeof watchPage>;
  const alerts$ = new Subject<Alert>();

  beforeAll(async () => {
    const deps: ApiDeps = {
      clickhouse,
      database: 'stacklens',
      live: {
        logs$: new Subject<LiveRecord<LogRecord>>(),
        alerts$: alerts$.pipe(map((a) => LiveRecord.of(a))),
      },
      ingest: { produce: () => Promise.resolve() },
      probes: {},
      registry: new Registry(),
      auth,
      logger,
      consoleDir,
    };
    api = await startApi(deps);
    page = await (await browser.newContext({ viewport: { width: 1280, height: 720 } })).newPage();
    watched = watchPage(page, api.baseUrl);
  });

  afterAll(async () => {
    await page?.context().close();
    await api?.close();
  });

  it('refuses wrong credentials and shows nothing behind the login', async () => {
    await page.goto(`${api.baseUrl}/#/alerts`);
    await page.locator('form.login').waitFor({ timeout: 30_000 });
    expect(await page.locator('#alerts-title').count()).toBe(0);
    await fill(page, false);
    await page.click('button[type="submit"]');
    await page.locator('form.login [role="alert"]').waitFor();
    expect(await page.locator('form.login [role="alert"]').innerText()).toMatch(/Invalid credentials/);
    expect(await page.locator('#alerts-title').count()).toBe(0);
    if (auth.kind === 'token') await page.screenshot({ path: join(SCREENSHOTS_DIR, 'login.png') });
  });

  it('logs in, and the credentials reach REST and the WebSocket', async () => {
    await fill(page, true);
    await page.click('button[type="submit"]');
    await page.locator('#alerts-title').waitFor({ timeout: 30_000 });
    // REST: the (empty) history came back from chDB; WebSocket: the live stream is open.
    await page.locator('text=No alerts').waitFor({ timeout: 30_000 });
    expect(await page.locator('.error-note').count()).toBe(0);
    await page.locator('[data-live="live"]').waitFor({ timeout: 30_000 });
    const pushed = alert();
    alerts$.next(pushed);
    await page.locator(`[data-alert-id="${pushed.id}"]`).waitFor({ timeout: 30_000 });

    // Kept for the tab: a reload does not ask again.
    await page.reload();
    await page.locator('[data-live="live"]').waitFor({ timeout: 30_000 });
    expect(await page.locator('form.login').count()).toBe(0);
    const next = alert();
    alerts$.next(next);
    await page.locator(`[data-alert-id="${next.id}"]`).waitFor({ timeout: 30_000 });
  });

  it('logs out back to the login step', async () => {
    await page.click('text=Log out');
    await page.locator('form.login').waitFor({ timeout: 30_000 });
    expect(watched.foreign).toEqual([]);
  });
});
