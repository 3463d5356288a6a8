import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { Kafka, logLevel } from 'kafkajs';
import type { Browser, Page } from 'playwright-core';
import { startApiServer, type ApiServer } from '../../app/api-server';
import { startDemoProducers } from '../../app/demo/demo-producers';
import { buildScenario, encodeLogs, encodeSpans, type Scenario } from '../../app/demo/otlp-scenario';
import { startPipelineHarness, type PipelineHarness } from '../support/pipeline-harness';
import { waitFor } from '../support/wait-for';
import { buildConsole, launchChromium, SCREENSHOTS_DIR, watchPage } from '../support/web-console';

// The web console in headless Chromium against a whole StackLens on the local stack: demo telemetry
// (the scenario `stacklens run --demo` writes) is produced to the input topics, and the test reads it
// back the way a user would, on each page. The screenshots of docs/screenshots come from this run.

jest.setTimeout(240_000);

let h: PipelineHarness;
let api: ApiServer;
let browser: Browser;
let page: Page;
let base: string;
let watched: ReturnType<typeof watchPage>;
let consoleDir: string;

const serviceOf = (r: ReadableLogRecord) => String(r.resource.attributes['service.name']);

async function produceScenario(s: Scenario): Promise<void> {
  await h.produce(
    h.topics.logs,
    encodeLogs(s.logs, { batchSize: 20 }).map((value) => ({ value, partition: 0 })),
  );
  await h.produce(
    h.topics.traces,
    encodeSpans(s.spans, { batchSize: 20 }).map((value) => ({ value, partition: 0 })),
  );
}

async function count(sql: string): Promise<number> {
  const [row] = await h.query<{ n: string }>(sql);
  return Number(row?.n ?? 0);
}

/** The texts of the elements `selector` matches on the page now. */
const texts = (selector: string) => page.locator(selector).allInnerTexts();

/** Waits until `selector` matches exactly `n` elements. */
function countIs(selector: string, n: number, timeoutMs = 30_000): Promise<void> {
  return waitFor(`${n} × ${selector}`, async () => (await page.locator(selector).count()) === n, timeoutMs);
}

async function screenshot(name: string): Promise<void> {
  mkdirSync(SCREENSHOTS_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS_DIR, `${name}.png`) });
}

beforeAll(async () => {
  consoleDir = buildConsole();
  browser = await launchChromium();
  h = await startPipelineHarness('web-console');
  api = await startApiServer({
    config: h.config,
    logger: h.logger,
    registry: h.app.registry,
    processMetrics: () => h.app.metrics(),
    clickhouse: h.app.clickhouse,
    kafka: new Kafka({
      clientId: `${h.appId}-api`,
      brokers: h.config.kafka.brokers,
      logLevel: logLevel.NOTHING,
    }),
    schemaRegistry: h.app.schemaRegistry,
    pipelineProblem: () => h.app.problem(),
    topics: h.topics,
    consoleDir,
  });
  base = `http://127.0.0.1:${api.port}/`;
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  watched = watchPage(page, base);
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await api?.close();
  await h?.stop();
  if (consoleDir !== undefined) rmSync(consoleDir, { recursive: true, force: true });
});

describe('web console in headless Chromium', () => {
  // Event times of now, so the pages' default time ranges see them; half the requests fail, which
  // fires the default alert rules.
  const scenario = buildScenario({
    traces: 20,
    seed: 11,
    errorRate: 0.5,
    startMs: Date.now() - 20_000,
    intervalMs: 100,
  });

  it('is served at / with a strict CSP, index.html revalidated and hashed assets immutable', async () => {
    const index = await fetch(base);
    expect(index.status).toBe(200);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    expect(index.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(index.headers.get('content-security-policy')).toContain("connect-src 'self'");
    const html = await index.text();
    const script = /src="(assets\/main-[A-Z0-9]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`${base}${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toMatch(/max-age=31536000.*immutable/);
    expect(await asset.text()).toBe(readFileSync(join(consoleDir, script!), 'utf8'));
  });

  it('shows an alert produced to the topics on the alerts page as it fires', async () => {
    await page.goto(`${base}#/alerts`);
    await page.locator('[data-live="live"]').waitFor({ timeout: 30_000 });
    expect(await page.locator('[data-alert-id]').count()).toBe(0);

    await produceScenario(scenario);
    await h.waitFor(
      'alerts in ClickHouse',
      async () => (await count('SELECT count() AS n FROM stacklens_alerts')) > 0,
    );
    const ids = (await h.query<{ id: string }>('SELECT id FROM stacklens_alerts')).map((r) => r.id);
    // The page was not reloaded: the alerts came over /ws/alerts.
    for (const id of ids) await page.locator(`[data-alert-id="${id}"]`).waitFor({ timeout: 30_000 });
    const [first] = await texts('table.alerts tbody tr');
    expect(first).toMatch(/PRICE_MISSING|PAYMENT_FAILURE|TIMEOUT|[A-Z_]+/);
    await screenshot('alerts');

    // The history: a fresh load shows them from /api/alerts, and the service filter applies.
    const [alert] = await h.query<{ id: string; service: string }>(
      'SELECT id, service FROM stacklens_alerts LIMIT 1',
    );
    await page.reload();
    await page.locator(`[data-alert-id="${alert!.id}"]`).waitFor({ timeout: 30_000 });
    await page.fill('input[name="service"]', 'no-such-service');
    await page.click('text=Apply');
    await page.locator('text=No alerts').waitFor();
    expect(await page.locator('[data-alert-id]').count()).toBe(0);
  });

  it('finds the produced records with a filtered log search and shows one with its attributes', async () => {
    // The service of the first failure: its error logs, and none of the other services' or levels'.
    const failed = scenario.logs.find((r) => (r.severityNumber ?? 0) >= 17);
    expect(failed).toBeDefined();
    const service = serviceOf(failed!);
    const expected = scenario.logs.filter((r) => serviceOf(r) === service && (r.severityNumber ?? 0) >= 17);
    expect(expected.length).toBeLessThan(scenario.logs.length);
    const where = `ServiceName = '${service}' AND SeverityNumber >= 17`;
    await h.waitFor(
      `${service} error logs in ClickHouse`,
      async () => (await count(`SELECT count() AS n FROM otel_logs WHERE ${where}`)) === expected.length,
    );
    const stored = (await h.query<{ Body: string }>(`SELECT Body FROM otel_logs WHERE ${where}`)).map(
      (r) => r.Body,
    );

    await page.goto(`${base}#/logs`);
    await page.fill('input[name="service"]', service);
    await page.selectOption('select[name="level"]', 'error');
    await page.click('button:has-text("Search")');
    await countIs('.log-row', expected.length);
    const bodies = await texts('.log-row .body');
    expect(bodies.sort()).toEqual([...stored].sort());
    expect(new Set(await texts('.log-row .svc'))).toEqual(new Set([service]));
    expect(page.url()).toContain(`service=${service}`);

    await page.locator('.log-row').first().click();
    const detail = page.locator('aside[aria-label="Log record"]');
    await detail.waitFor();
    expect(await detail.innerText()).toMatch(/workflow_id/);
    expect(await detail.locator('a[href^="#/trace/"]').count()).toBe(1);
    await screenshot('logs');
  });

  /**
   * A page queries once per search: a search made while the ClickHouse application still inserts the
   * scenario shows what was stored then, and waiting on the page would not bring the rest.
   */
  const allLogsStored = () =>
    h.waitFor(
      'all the scenario logs in ClickHouse',
      async () => (await count('SELECT count() AS n FROM otel_logs')) === scenario.logs.length,
    );

  it('searches by a custom attribute, a workflow and text together', async () => {
    const trace = scenario.traces[3]!;
    await allLogsStored();
    await page.goto(`${base}#/logs`);
    await page.fill('input[name="attributes"]', `request_id=${trace.attributes.request_id}`);
    await page.fill('input[name="workflow_id"]', trace.workflowId);
    await page.click('button:has-text("Search")');
    await countIs('.log-row', trace.logCount);
    // Text narrows it further: one word of the first record's body.
    const [body] = await texts('.log-row .body');
    const word = body!.split(' ').find((w) => w.length > 4)!;
    await page.fill('input[name="q"]', word);
    await page.click('button:has-text("Search")');
    const matching = (
      await h.query<{ n: string }>(
        `SELECT count() AS n FROM otel_logs WHERE TraceId = '${trace.traceId}' AND positionCaseInsensitiveUTF8(Body, '${word.replace(/'/g, "\\'")}') > 0`,
      )
    )[0]!.n;
    await countIs('.log-row', Number(matching));
    for (const shown of await texts('.log-row .body'))
      expect(shown.toLowerCase()).toContain(word.toLowerCase());
  });

  it('pages through a search with its cursor, rendering only the rows in view', async () => {
    await allLogsStored();
    const total = await count('SELECT count() AS n FROM otel_logs');
    expect(total).toBeGreaterThan(25);
    await page.goto(`${base}#/logs?limit=25`);
    await page.locator('text="25 records"').waitFor({ timeout: 30_000 });
    await page.click('button:has-text("Load older")');
    const shown = Math.min(50, total);
    await page.locator(`text="${shown} records"`).waitFor({ timeout: 30_000 });
    // The list is virtualized: about a view's worth of rows exist, however many records there are.
    const rendered = await page.locator('.log-row').count();
    expect(rendered).toBeGreaterThan(10);
    expect(rendered).toBeLessThan(shown);
    // Scrolled to the end, other rows are rendered in their place, none twice.
    const rowIds = () =>
      page.locator('.log-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-log-id')));
    const top = await rowIds();
    await page.locator('.virtual').evaluate((list) => list.scrollTo(0, list.scrollHeight));
    await waitFor('rows further down', async () => (await rowIds())[0] !== top[0], 10_000);
    const bottom = await rowIds();
    expect(new Set(bottom).size).toBe(bottom.length);
  });

  it('live-tails new records with the same filters', async () => {
    const next = buildScenario({ traces: 3, seed: 12, errorRate: 0, startMs: Date.now(), intervalMs: 100 });
    const traceId = next.traces[1]!.traceId;
    const expected = next.logs.filter((r) => r.spanContext?.traceId === traceId);
    expect(expected.length).toBeGreaterThan(0);

    await page.goto(`${base}#/logs?trace_id=${traceId}`);
    await page.check('input[name="tail"]');
    await page.locator('[data-live="live"]').waitFor({ timeout: 30_000 });
    expect(await page.locator('.log-row').count()).toBe(0);

    await produceScenario(next);
    await countIs('.log-row', expected.length, 60_000);
    // Only this trace's records: the other two traces of the batch were filtered out by the server.
    const stored = await h.query<{ Body: string }>(`SELECT Body FROM otel_logs WHERE TraceId = '${traceId}'`);
    expect((await texts('.log-row .body')).sort()).toEqual(stored.map((r) => r.Body).sort());
  });

  it("shows a produced trace's span waterfall beside its logs, errors marked", async () => {
    const failing = scenario.traces.find((t) => t.failure !== null)!;
    await h.waitFor(
      'the failing trace correlated',
      async () =>
        (await count(
          `SELECT count() AS n FROM stacklens_correlations WHERE trace_id = '${failing.traceId}'`,
        )) > 0,
    );
    await page.goto(`${base}#/trace/${failing.traceId}`);
    await countIs('.span-row', failing.spanCount);
    expect(await page.locator('.span-row.error').count()).toBeGreaterThan(0);
    await countIs('.trace-logs .log-row', failing.logCount);
    // The correlation comes from its own request, which may answer after the trace's.
    await page.locator('dl.summary dt', { hasText: 'Tokens' }).waitFor({ timeout: 30_000 });
    const summary = await page.locator('dl.summary').innerText();
    expect(summary).toContain(`${failing.spanCount}`);
    expect(summary).toMatch(/Tokens/);

    await page.locator('.span-row.error').first().click();
    const detail = page.locator('aside[aria-label="Span"]');
    await detail.waitFor();
    expect(await detail.innerText()).toMatch(/Events[\s\S]*exception/);
    await screenshot('trace');
  });

  it('shows services, workflows, readiness and pipeline figures while the demo producers write', async () => {
    // The demo producers of `stacklens run --demo`, for a while: the page's figures move.
    const producer = new Kafka({
      clientId: `${h.appId}-demo`,
      brokers: h.config.kafka.brokers,
      logLevel: logLevel.NOTHING,
    }).producer();
    await producer.connect();
    const demo = startDemoProducers({
      producer,
      topics: { logs: h.topics.logs, traces: h.topics.traces },
      rate: 20,
      seed: 13,
      log: h.logger,
    });
    try {
      await page.goto(`${base}#/services`);
      for (const service of ['arda', 'beorn', 'palantir'])
        await page.locator(`[data-service="${service}"]`).waitFor({ timeout: 30_000 });
      expect(await page.locator('[data-ready]').getAttribute('data-ready')).toBe('ready');
      expect(await page.locator('table[aria-label="Workflows"] tbody tr').count()).toBeGreaterThan(0);
      // A rate needs two polls of /metrics with records processed in between; the chart is uPlot's canvas.
      await waitFor(
        'a records rate above zero',
        async () => Number(await page.locator('[data-figure="rate"]').innerText()) > 0,
        60_000,
      );
      await page.locator('.chart canvas').waitFor();
      await screenshot('services');
    } finally {
      await demo.stop();
      await producer.disconnect();
    }
  });

  it('sent nothing to another host and broke no Content-Security-Policy rule', () => {
    expect(watched.foreign).toEqual([]);
    expect(watched.errors.filter((e) => /Content Security Policy|Refused to/i.test(e))).toEqual([]);
  });
});
