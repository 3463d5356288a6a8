import WebSocket from 'ws';
import { startApiServer, type ApiServer } from '../../app/api-server';
import { DEMO_PHASES, startDemoProducers, type DemoProducers } from '../../app/demo/demo-producers';
import { kafkaClient } from '../../app/stacklens-app';
import type { Alert } from '../../processors/records';
import { startPipelineHarness, type PipelineHarness } from '../support/pipeline-harness';

/**
 * The demo's incident, end to end through the pattern miner: after a steady stretch (the services'
 * baseline, learned in 2-second buckets), the incident phase makes palantir log a cause it never
 * logged before and fail far more requests with PRICE_MISSING. Both the new error pattern and the
 * PRICE_MISSING line's rate spike must reach a client of /ws/alerts, and the pattern tables fill.
 */
describe('log pattern anomalies of the demo incident', () => {
  let harness: PipelineHarness;
  let api: ApiServer;
  let demo: DemoProducers | undefined;
  let stopProducer: () => Promise<void> = async () => undefined;
  let ws: WebSocket | undefined;

  beforeAll(async () => {
    harness = await startPipelineHarness('it-patterns', {
      PATTERN_BUCKET_SECONDS: '2',
      PATTERN_WARMUP_BUCKETS: '4',
    });
    const { config, logger, app, topics } = harness;
    api = await startApiServer({
      config,
      logger,
      registry: app.registry,
      clickhouse: app.clickhouse,
      kafka: kafkaClient(config, logger, `${harness.appId}-api`),
      schemaRegistry: app.schemaRegistry,
      pipelineProblem: () => app.problem(),
      topics,
    });
  }, 180_000);

  afterAll(async () => {
    ws?.close();
    await demo?.stop();
    await stopProducer();
    await api?.close();
    await harness?.stop();
  }, 120_000);

  it('raises a new error pattern and a rate spike, both on /ws/alerts', async () => {
    const alerts: Alert[] = [];
    ws = new WebSocket(`ws://127.0.0.1:${api.port}/ws/alerts`);
    ws.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString('utf8')) as { type: string; data: Alert };
      if (message.type === 'alert') alerts.push(message.data);
    });
    await new Promise<void>((resolve, reject) => {
      ws!.once('open', () => resolve());
      ws!.once('error', reject);
    });

    const producer = kafkaClient(harness.config, harness.logger, `${harness.appId}-demo`).producer();
    await producer.connect();
    stopProducer = () => producer.disconnect();
    const incident = DEMO_PHASES.find((p) => p.name === 'incident')!;
    demo = startDemoProducers({
      producer,
      topics: { logs: harness.topics.logs, traces: harness.topics.traces },
      rate: 40,
      seed: 5,
      log: harness.logger,
      phases: [
        { name: 'steady', durationMs: 16_000, errorRate: 0.1 },
        { ...incident, durationMs: 60_000 },
      ],
    });

    const newPattern = () =>
      alerts.find((a) => a.rule_id === 'log-pattern-new' && a.message.includes('Price cache refresh failed'));
    const spike = () =>
      alerts.find(
        (a) => a.issue_code === 'LOG_PATTERN_SPIKE' && a.message.includes('Product price is null or missing'),
      );
    await harness.waitFor(
      'the new pattern and the spike on /ws/alerts',
      () => !!newPattern() && !!spike(),
      150_000,
    );

    expect(newPattern()).toMatchObject({
      service: 'palantir',
      severity: 'error',
      issue_code: 'NEW_ERROR_LOG_PATTERN',
    });
    expect(newPattern()!.confidence).toBeGreaterThan(0);
    expect(newPattern()!.related_logs).toHaveLength(1);
    expect(spike()).toMatchObject({ service: 'palantir', rule_id: 'log-pattern-rate' });
    expect(spike()!.confidence).toBeGreaterThan(0.5);

    // Each line's pattern and the patterns' bucket counts are in ClickHouse.
    const newLogId = newPattern()!.related_logs[0]!;
    let template: string | undefined;
    await harness.waitFor('the pattern tables', async () => {
      const [row] = await harness.query<{ buckets: string; template: string }>(
        `SELECT (SELECT count() FROM stacklens_log_patterns WHERE service = 'palantir'
                   AND template = 'Product price is null or missing') AS buckets,
                (SELECT any(p.template) FROM stacklens_log_patterns AS p
                   INNER JOIN stacklens_log_pattern_refs AS r
                   ON p.service = r.service AND p.pattern_id = r.pattern_id
                   WHERE r.record_id = '${newLogId}') AS template`,
      );
      template = row?.template;
      return Number(row?.buckets) >= 4 && template !== '';
    });
    expect(template).toBe('Price cache refresh failed: pricing-db replica <NUM> unreachable');
  }, 300_000);
});
