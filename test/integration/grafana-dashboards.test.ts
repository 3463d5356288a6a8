import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { parse } from 'yaml';
import { buildScenario, encodeLogs, encodeSpans } from '../../app/demo/otlp-scenario';
import {
  logPart,
  parseAlertRulesText,
  spanPart,
  toCorrelationLog,
  toCorrelationSpan,
} from '../../processors';
import { createClickHouse } from '../../sinks/clickhouse/client';
import { TABLES, migrate } from '../../sinks/clickhouse/migrations';
import { alertRow, correlationPartRow, logRow, spanRow } from '../../sinks/clickhouse/rows';
import { decodeLanded, raisedAlerts, type LandedMessage } from '../support/demo-telemetry';
import { expandMacros, interpolateVariables } from '../support/grafana-clickhouse-macros';

// Every panel of the shipped Grafana dashboards (docker/grafana), sent as grafana-clickhouse-datasource
// would send it, against StackLens' tables filled with the demo's telemetry through the sinks' rows.
const GRAFANA_DIR = join(__dirname, '..', '..', 'docker', 'grafana');
const DASHBOARD_DIR = join(GRAFANA_DIR, 'dashboards');
const DATASOURCE = parse(
  readFileSync(join(GRAFANA_DIR, 'provisioning', 'datasources', 'clickhouse.yaml'), 'utf8'),
) as { datasources: { uid: string; type: string; jsonData: Record<string, unknown> }[] };

interface Target {
  refId: string;
  rawSql: string;
  editorType: string;
  format: number;
  datasource: { type: string; uid: string };
}
interface Panel {
  id: number;
  title: string;
  type: string;
  targets?: Target[];
  panels?: Panel[];
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: string; current?: { value: string } }[] };
}

const dashboards: [string, Dashboard][] = readdirSync(DASHBOARD_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => [f, JSON.parse(readFileSync(join(DASHBOARD_DIR, f), 'utf8')) as Dashboard]);

const panelsOf = (panels: readonly Panel[]): Panel[] =>
  panels.flatMap((p) => [p, ...panelsOf(p.panels ?? [])]).filter((p) => p.type !== 'row');

/** Grafana's default variable values: what a freshly opened dashboard sends. */
const variablesOf = (d: Dashboard): Record<string, string> =>
  Object.fromEntries(d.templating.list.map((v) => [v.name, v.current?.value ?? v.query]));

const NOW_MS = Date.now();
/** The range the dashboards open with (`now-1h` to `now`) and a 30 s interval, as a wide panel gets. */
const PANEL_CONTEXT = { fromMs: NOW_MS - 3_600_000, toMs: NOW_MS, intervalMs: 30_000 };

describe('shipped Grafana dashboards', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stacklens-grafana-'));
  let ch: ClickHouseClient;

  beforeAll(async () => {
    ch = await createClickHouse({ database: 'stacklens', chdbPath: dir });
    await migrate(ch);

    // 40 minutes of the demo's traffic, ending a minute ago, through the real decode → normalize →
    // redact → enrich pipeline, then the sinks' rows, correlations and alert rules.
    const scenario = buildScenario({
      traces: 240,
      seed: 12,
      startMs: NOW_MS - 41 * 60_000,
      intervalMs: 10_000,
    });
    const landed: LandedMessage[] = [
      ...encodeLogs(scenario.logs, { batchSize: 50 }).map((value, i) => message('otel-logs', i, value)),
      ...encodeSpans(scenario.spans, { batchSize: 50 }).map((value, i) => message('otel-traces', i, value)),
    ];
    const telemetry = decodeLanded(landed, 'otel-logs');
    const rules = parseAlertRulesText(readFileSync(join(__dirname, '../../config/alert-rules.json'), 'utf8'));
    const alerts = raisedAlerts(telemetry, rules);
    expect(alerts.length).toBeGreaterThan(0);

    await ch.insert({ table: TABLES.logs, values: telemetry.logs.map(logRow), format: 'JSONEachRow' });
    await ch.insert({ table: TABLES.traces, values: telemetry.spans.map(spanRow), format: 'JSONEachRow' });
    await ch.insert({
      table: TABLES.correlationParts,
      values: [
        ...telemetry.logs.filter((l) => l.trace_id !== '').map((l) => logPart(toCorrelationLog(l))),
        ...telemetry.spans.filter((s) => s.trace_id !== '').map((s) => spanPart(toCorrelationSpan(s))),
      ].map(correlationPartRow),
      format: 'JSONEachRow',
    });
    await ch.insert({ table: TABLES.alerts, values: alerts.map(alertRow), format: 'JSONEachRow' });
  });

  afterAll(async () => {
    await ch?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function message(topic: string, offset: number, value: Buffer): LandedMessage {
    return { topic, partition: 0, offset: String(offset), key: null, value, headers: {} };
  }

  it('provisions the ClickHouse data source in OTel mode for logs and traces', () => {
    const [source] = DATASOURCE.datasources;
    expect(source).toMatchObject({ uid: 'stacklens-clickhouse', type: 'grafana-clickhouse-datasource' });
    expect(source!.jsonData).toMatchObject({
      logs: { defaultTable: TABLES.logs, otelEnabled: true },
      traces: { defaultTable: TABLES.traces, otelEnabled: true, durationUnit: 'nanoseconds' },
    });
  });

  it('ships the four dashboards the issue asks for', () => {
    expect(dashboards.map(([, d]) => d.uid).sort()).toEqual([
      'stacklens-correlations-alerts',
      'stacklens-logs',
      'stacklens-services',
      'stacklens-traces',
    ]);
  });

  describe.each(dashboards)('%s', (_file, dashboard) => {
    const panels = panelsOf(dashboard.panels);

    it('has panels, each with SQL on the provisioned data source', () => {
      expect(panels.length).toBeGreaterThan(0);
      for (const panel of panels) {
        expect(panel.targets?.length).toBeGreaterThan(0);
        for (const target of panel.targets ?? []) {
          expect(target.datasource).toEqual({
            type: 'grafana-clickhouse-datasource',
            uid: 'stacklens-clickhouse',
          });
          expect(target.editorType).toBe('sql');
        }
      }
    });

    it.each(panels.map((p) => [p.title, p] as const))(
      'panel "%s" returns rows for the demo data',
      async (_title, panel) => {
        for (const target of panel.targets ?? []) {
          const sql = expandMacros(
            interpolateVariables(target.rawSql, variablesOf(dashboard)),
            PANEL_CONTEXT,
          );
          const rows = await (
            await ch.query({ query: sql, format: 'JSONEachRow' })
          ).json<Record<string, unknown>>();
          expect(rows.length).toBeGreaterThan(0);
          // Time series (format 0) need a time column and a number; logs (format 2) a timestamp and a body.
          if (target.format === 0) expect(Object.keys(rows[0]!)).toContain('time');
          if (target.format === 2)
            expect(Object.keys(rows[0]!)).toEqual(expect.arrayContaining(['timestamp', 'body']));
        }
      },
    );
  });
});
