import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { runBacktest } from '../../app/backtest/run-backtest';
import { DEMO_PHASES, startDemoProducers } from '../../app/demo/demo-producers';
import { kafkaClient } from '../../app/stacklens-app';
import { parseAlertRulesText } from '../../processors/alerts';
import { correlatorQuietMs, startPipelineHarness, type PipelineHarness } from '../support/pipeline-harness';

/**
 * `stacklens rules backtest` over the demo's history: the live pipeline processed an incident; the
 * backtest of the default rules over that stretch of the topics reports the incident's alerts, and
 * afterwards every topic of the application ends where it ended and every table holds what it held.
 */
describe('rules backtest', () => {
  let harness: PipelineHarness;
  let kafka: Kafka;

  beforeAll(async () => {
    harness = await startPipelineHarness('it-backtest');
    kafka = new Kafka({
      clientId: `${harness.appId}-check`,
      brokers: harness.config.kafka.brokers,
      logLevel: logLevel.NOTHING,
    });
  }, 180_000);

  afterAll(async () => {
    await harness?.stop();
  }, 120_000);

  it('lists the demo incident and changes no topic and no table', async () => {
    const from = Date.now() - 1_000;
    const producer = kafkaClient(harness.config, harness.logger, `${harness.appId}-demo`).producer();
    await producer.connect();
    const incident = DEMO_PHASES.find((p) => p.name === 'incident')!;
    const demo = startDemoProducers({
      producer,
      topics: { logs: harness.topics.logs, traces: harness.topics.traces },
      rate: 30,
      seed: 9,
      log: harness.logger,
      phases: [incident],
    });
    await harness.waitFor(
      'the demo to fail some PRICE_MISSING traces',
      () => demo.stats().failedTraces.PRICE_MISSING >= 20,
      60_000,
    );
    await demo.stop();
    await producer.disconnect();
    await harness.waitFor('the pipeline to catch up', () => harness.caughtUp());
    await harness.waitFor('the live alerts', async () => {
      const [row] = await harness.query<{ n: string }>(
        `SELECT count() AS n FROM stacklens_alerts WHERE rule_id = 'price-missing'`,
      );
      return Number(row?.n) > 0;
    });

    const admin = kafka.admin();
    await admin.connect();
    const snapshot = async () => {
      const topics = (await admin.listTopics()).filter((t) => t.startsWith(harness.appId)).sort();
      const ends: Record<string, string[]> = {};
      for (const t of topics)
        ends[t] = (await admin.fetchTopicOffsets(t)).map((p) => `${p.partition}:${p.high}`).sort();
      const tables: Record<string, string> = {};
      for (const table of [
        'otel_logs',
        'otel_traces',
        'stacklens_alerts',
        'stacklens_correlations',
        'stacklens_log_patterns',
      ]) {
        const [row] = await harness.query<{ n: string }>(`SELECT count() AS n FROM ${table}`);
        tables[table] = row?.n ?? '';
      }
      const groups = (await admin.listGroups()).groups
        .map((g) => g.groupId)
        .filter((g) => g.startsWith(harness.appId))
        .sort();
      return { ends, tables, groups };
    };
    try {
      // Quiet: what the pipeline still had to write (the correlator closes the last traces up to
      // correlatorQuietMs after its last record, by the wall clock, and their alerts are committed
      // after that) is written before the snapshot: settled once the topics and tables have stayed
      // the same for twice that long. (Twelve polls, about 3 s, were once shorter than that on a
      // loaded CI machine: the late trace alerts then landed during the backtest.)
      const quietMs = 2 * correlatorQuietMs(harness.config);
      let last = '';
      let changedAt = Date.now();
      await harness.waitFor('the topics and tables to settle', async () => {
        const now = JSON.stringify(await snapshot());
        if (now !== last) [last, changedAt] = [now, Date.now()];
        return Date.now() - changedAt >= quietMs;
      });
      const before = await snapshot();

      const rules = parseAlertRulesText(
        readFileSync(join(__dirname, '../../config/alert-rules.json'), 'utf8'),
      );
      const report = await runBacktest(harness.config, harness.logger, {
        rules,
        range: { fromMs: from, toMs: Date.now() + 60_000 },
        source: 'topics',
      });

      expect(report.logs).toBeGreaterThan(100);
      expect(report.spans).toBeGreaterThan(100);
      const byRule = new Map(report.rules.map((r) => [r.rule_id, r]));
      expect([...byRule.keys()]).toEqual([...rules.byId.keys()]);
      const priceMissing = byRule.get('price-missing')!.alerts;
      expect(priceMissing.length).toBeGreaterThan(0);
      expect(priceMissing[0]).toMatchObject({ service: 'palantir' });
      expect(Date.parse(priceMissing[0]!.created_at)).toBeGreaterThanOrEqual(from);
      expect(byRule.get('trace-error')!.alerts.length).toBeGreaterThan(0);
      // The same alerts the live pipeline raised for the incident (ids derive from rule, key and window).
      const live = await harness.query<{ id: string }>(
        `SELECT DISTINCT id FROM stacklens_alerts WHERE rule_id = 'price-missing'`,
      );
      expect(priceMissing.map((a) => a.id).sort()).toEqual(live.map((r) => r.id).sort());

      // The archive holds the same history (redacted OTLP/JSON): the same alerts.
      const fromArchive = await runBacktest(harness.config, harness.logger, {
        rules,
        range: { fromMs: from, toMs: Date.now() + 60_000 },
        source: 'archive',
      });
      const archived = fromArchive.rules.find((r) => r.rule_id === 'price-missing')!.alerts;
      expect(archived.map((a) => a.id).sort()).toEqual(priceMissing.map((a) => a.id).sort());
      expect(fromArchive.logs).toBe(report.logs);

      expect(await snapshot()).toEqual(before);
    } finally {
      await admin.disconnect();
    }
  }, 300_000);
});
