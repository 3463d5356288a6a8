/**
 * The web console's live tail under load: pushes `--rate` log records per second through the API's live
 * feed (the one the Kafka live feed fills) to the Logs page, live tail on, in headless Chromium for
 * `--seconds`, and prints what the page did: records it received and kept, the intervals between its
 * frames (a page that keeps up paints every ~16 ms), long tasks, the rows in the DOM and the JS heap.
 * Figures only, nothing asserted: compare runs on the same machine.
 *
 *   npm run build && npm run bench:console -- --rate 5000 --seconds 10
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { chromium } from 'playwright-core';
import { Registry } from 'prom-client';
import { map, Subject } from 'rxjs';
import { LiveRecord } from '../../api/live/live-record';
import { startApi } from '../../api/testing/harness';
import { defaultConsoleDir } from '../../app/console-dir';
import { createLogger } from '../../common/logger';
import { ensureChromium } from '../../infra/services/chromium';
import type { Alert, LogRecord } from '../../processors/records';
import { BenchError } from '../errors';
import { percentile } from '../stats';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '5000' },
    seconds: { type: 'string', default: '10' },
  },
});
const rate = Number(values.rate);
const seconds = Number(values.seconds);
if (!(rate > 0 && rate <= 100_000 && seconds > 0 && seconds <= 600))
  throw new BenchError('--rate must be in (0, 100000] and --seconds in (0, 600]');

/** Pushes happen in ticks of this many ms, rate × TICK_MS / 1000 records each. */
const TICK_MS = 10;

function record(n: number): LogRecord {
  const nowMs = Date.now();
  return {
    id: `bench-console:0:${n}:0`,
    source: 'otlp_proto',
    time_unix_nano: `${nowMs}000000`,
    observed_time_unix_nano: `${nowMs}000000`,
    time_ms: nowMs,
    trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
    span_id: '00f067aa0ba902b7',
    trace_flags: 1,
    severity_number: n % 10 === 0 ? 17 : 9,
    severity_text: n % 10 === 0 ? 'ERROR' : 'INFO',
    body: `request ${n} handled for CIRCUIT-${n % 97} in ${n % 250} ms`,
    event_name: '',
    resource_schema_url: '',
    resource_attributes: { 'service.name': 'beorn', 'host.name': 'beorn-0' },
    scope_name: 'bench',
    scope_version: '',
    scope_schema_url: '',
    scope_attributes: {},
    log_attributes: { workflow_id: 'wf-snowflake-001', circuit_id: `CIRCUIT-${n % 97}` },
    service: 'beorn',
    env: 'bench',
    workflow_id: 'wf-snowflake-001',
    circuit_id: `CIRCUIT-${n % 97}`,
    product_id: '',
    resource_id: '',
    resource_type_id: '',
    request_id: `req-${n}`,
    error_code: '',
    gen_ai_input_tokens: 0,
    gen_ai_output_tokens: 0,
    redacted_count: 0,
  };
}

/** Runs in the page: records every frame interval and every long task from now on. */
const INSTALL_MONITOR = `(() => {
  window.frames_ = [];
  window.longTasks_ = [];
  let last = performance.now();
  const loop = (t) => { window.frames_.push(t - last); last = t; requestAnimationFrame(loop); };
  requestAnimationFrame(loop);
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.longTasks_.push(e.duration);
  }).observe({ entryTypes: ['longtask'] });
})()`;

interface PageFigures {
  frames: number[];
  longTasks: number[];
  rows: number;
  hint: string;
  dropped: string;
  live: string;
  heapBytes: number;
}

/** Runs in the page: what it recorded and shows. */
const COLLECT = `(() => ({
  frames: window.frames_,
  longTasks: window.longTasks_,
  rows: document.querySelectorAll('.log-row').length,
  hint: document.querySelector('.list-pane .hint')?.textContent ?? '',
  dropped: document.querySelector('.page-head .hint')?.textContent ?? '',
  live: document.querySelector('[data-live]')?.getAttribute('data-live') ?? '',
  heapBytes: performance.memory?.usedJSHeapSize ?? 0,
}))()`;

async function main(): Promise<void> {
  const consoleDir = defaultConsoleDir();
  if (!existsSync(join(consoleDir, 'index.html')))
    throw new BenchError(`no console build in ${consoleDir}: run npm run build first`);
  const logs$ = new Subject<LogRecord>();
  // The page's first search (before the tail is on) finds no ClickHouse: expected, and kept quiet.
  const clickhouse = createClient({ url: 'http://127.0.0.1:1', log: { level: ClickHouseLogLevel.OFF } });
  const registry = new Registry();
  const api = await startApi({
    clickhouse,
    database: 'stacklens',
    live: { logs$: logs$.pipe(map((r) => LiveRecord.of(r))), alerts$: new Subject<LiveRecord<Alert>>() },
    ingest: { produce: () => Promise.resolve() },
    probes: {},
    registry,
    auth: { kind: 'none' },
    logger: createLogger({ level: 'silent', format: 'json' }),
    consoleDir,
    // The browser is the one reader: give it room (a server drops readers over this many unread bytes).
    limits: { liveClientBufferBytes: 8 * 1024 * 1024 },
  });
  const browser = await chromium.launch({
    executablePath: await ensureChromium(),
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(`${api.baseUrl}/#/logs`);
    await page.check('input[name="tail"]');
    await page.locator('[data-live="live"]').waitFor({ timeout: 30_000 });

    // Frame intervals and long tasks, recorded in the page (evaluate is not subject to the page's CSP).
    await page.evaluate(INSTALL_MONITOR);

    let sent = 0;
    const perTick = (rate * TICK_MS) / 1000;
    const started = Date.now();
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const due = Math.floor(((Date.now() - started) / 1000) * rate);
        while (sent < due) logs$.next(record(sent++));
        if (Date.now() - started >= seconds * 1000) {
          clearInterval(timer);
          resolve();
        }
      }, TICK_MS);
    });
    const elapsedMs = Date.now() - started;
    // Let the last batch render.
    await page.waitForTimeout(500);

    const result = (await page.evaluate(COLLECT)) as PageFigures;
    const fmt = (v: number | undefined) => (v === undefined ? 'n/a' : v.toFixed(1));
    console.log(
      `web console live tail: ${sent} records pushed in ${(elapsedMs / 1000).toFixed(1)} s (${perTick} per ${TICK_MS} ms tick, target ${rate}/s)`,
    );
    console.log(
      `  page: ${result.hint}; ${result.dropped || 'nothing left the buffer'}; stream ${result.live}`,
    );
    console.log(
      `  frames: ${result.frames.length} (${fmt(result.frames.length / (elapsedMs / 1000))}/s), interval p50 ${fmt(percentile(result.frames, 50))} ms, p95 ${fmt(percentile(result.frames, 95))} ms, max ${fmt(Math.max(...result.frames))} ms`,
    );
    console.log(
      `  long tasks (> 50 ms): ${result.longTasks.length}, longest ${fmt(result.longTasks.length === 0 ? 0 : Math.max(...result.longTasks))} ms`,
    );
    const drops =
      (await registry.getSingleMetric('stacklens_api_live_clients_dropped_total')?.get())?.values ?? [];
    console.log(
      `  server drops of the page's stream (slow reader): ${drops.reduce((n, v) => n + v.value, 0)}`,
    );
    console.log(
      `  log rows in the DOM: ${result.rows}; JS heap ${(result.heapBytes / 1024 / 1024).toFixed(1)} MiB`,
    );
  } finally {
    await browser.close();
    await api.close();
    await clickhouse.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
