import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { Browser, Page } from 'playwright-core';
import { startApiServer, type ApiServer } from '../../app/api-server';
import { runBacktest } from '../../app/backtest/run-backtest';
import { buildScenario, encodeLogs, encodeSpans } from '../../app/demo/otlp-scenario';
import { parseAlertRulesText } from '../../processors/alerts';
import { startPipelineHarness, type PipelineHarness } from '../support/pipeline-harness';
import { waitFor } from '../support/wait-for';
import { buildConsole, launchChromium, SCREENSHOTS_DIR, watchPage } from '../support/web-console';

// The console's Patterns and Backtest pages in headless Chromium against a whole StackLens on the
// local stack: the demo scenario is produced to the input topics, its services' mined patterns are
// read on the Patterns page, and the report of a real backtest over the same topics is opened on the
// Backtest page. Pattern buckets are a second long, so they close (and are written) within the test.

jest.setTimeout(240_000);

let h: PipelineHarness;
let api: ApiServer;
let browser: Browser;
let page: Page;
let base: string;
let watched: ReturnType<typeof watchPage>;
let consoleDir: string;
let workDir: string;

beforeAll(async () => {
  consoleDir = buildConsole();
  workDir = mkdtempSync(join(tmpdir(), 'stacklens-console-patterns-'));
  browser = await launchChromium();
  h = await startPipelineHarness('web-patterns', { PATTERN_BUCKET_SECONDS: '1' });
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
  if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
});

async function screenshot(name: string): Promise<void> {
  mkdirSync(SCREENSHOTS_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS_DIR, `${name}.png`), fullPage: false });
}

describe('web console: patterns and backtest', () => {
  const startMs = Date.now() - 20_000;
  // Half the requests fail, which fires the default alert rules in the backtest.
  const scenario = buildScenario({ traces: 30, seed: 7, errorRate: 0.5, startMs, intervalMs: 200 });

  it('shows the mined templates of a produced service with their counts and first seen', async () => {
    await h.produce(
      h.topics.logs,
      encodeLogs(scenario.logs, { batchSize: 20 }).map((value) => ({ value, partition: 0 })),
    );
    await h.produce(
      h.topics.traces,
      encodeSpans(scenario.spans, { batchSize: 20 }).map((value) => ({ value, partition: 0 })),
    );
    await h.waitFor(
      'mined patterns in ClickHouse',
      async () =>
        (await h.query<{ n: string }>('SELECT count() AS n FROM stacklens_log_patterns'))[0]?.n !== '0',
    );
    const [top] = await h.query<{ service: string; n: string }>(
      'SELECT service, count(DISTINCT pattern_id) AS n FROM stacklens_log_patterns GROUP BY service ORDER BY n DESC, service LIMIT 1',
    );
    const service = top!.service;
    const stored = (
      await h.query<{ service: string; pattern_id: number; template: string; total: string }>(
        `SELECT service, pattern_id, argMax(template, bucket_start) AS template, toString(sum(count)) AS total
         FROM (SELECT service, pattern_id, bucket_start, any(template) AS template, max(count) AS count
               FROM stacklens_log_patterns GROUP BY service, pattern_id, bucket_start)
         GROUP BY service, pattern_id`,
      )
    ).filter((p) => p.service === service);
    expect(stored.length).toBeGreaterThan(0);

    await page.goto(`${base}#/patterns`);
    const table = page.locator(`table[aria-label="Patterns of ${service}"]`);
    await table.waitFor({ timeout: 30_000 });
    // The page polls; once every stored pattern is there, each row shows its template and count.
    await waitFor(
      `${stored.length} patterns of ${service} on the page`,
      async () => (await table.locator('tbody tr').count()) >= stored.length,
      60_000,
    );
    for (const p of stored) {
      const row = table.locator(`tr[data-pattern-id="${p.pattern_id}"]`);
      expect(await row.locator('td.template').innerText()).toBe(p.template);
      expect(Number((await row.locator('td.num').innerText()).replace(/\D/g, ''))).toBeGreaterThanOrEqual(
        Number(p.total),
      );
      expect(await row.locator('svg.spark').count()).toBe(1);
    }
    await screenshot('patterns');

    // A service filter narrows the page to that service.
    await page.fill('input[name="service"]', 'no-such-service');
    await page.click('text=Apply');
    await page.locator('text=No pattern mined').waitFor({ timeout: 30_000 });
  });

  it("renders a real backtest's JSON report per rule with the alerts it would have raised", async () => {
    const rules = parseAlertRulesText(readFileSync(join(__dirname, '../../config/alert-rules.json'), 'utf8'));
    const { undecodable: _undecodable, ...report } = await runBacktest(h.config, h.logger, {
      rules,
      range: { fromMs: startMs - 1_000, toMs: Date.now() + 60_000 },
      source: 'topics',
    });
    expect(report.logs).toBe(scenario.logs.length);
    const fired = report.rules.filter((r) => r.alerts.length > 0);
    expect(fired.length).toBeGreaterThan(0);
    const file = join(workDir, 'report.json');
    writeFileSync(file, JSON.stringify(report, null, 2));

    await page.goto(`${base}#/backtest`);
    await page.setInputFiles('input[name="report-file"]', file);
    await page.locator('[data-summary]').waitFor({ timeout: 30_000 });
    expect(await page.locator('[data-summary]').innerText()).toContain(
      `${fired.length} of ${report.rules.length} rules would have fired`,
    );
    expect(await page.locator('[data-rule-id]').count()).toBe(report.rules.length);
    for (const rule of fired) {
      const ids = await page
        .locator(`table[aria-label="Alerts of ${rule.rule_id}"] tr[data-alert-id]`)
        .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-alert-id')));
      expect(ids.sort()).toEqual(rule.alerts.map((a) => a.id).sort());
    }
    await screenshot('backtest');

    // Something that is not a report is refused, naming the problem, and nothing stale stays drawn.
    await page.fill('textarea[name="report"]', '{"logs": 1}');
    await page.click('button:has-text("Show")');
    await page.locator('text=Not a backtest report: spans is not a count').waitFor({ timeout: 10_000 });
    expect(await page.locator('[data-rule-id]').count()).toBe(0);
  });

  it('sent nothing to another host and broke no Content-Security-Policy rule', () => {
    expect(watched.foreign).toEqual([]);
    expect(watched.errors).toEqual([]);
  });
});
