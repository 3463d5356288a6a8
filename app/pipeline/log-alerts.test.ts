import { parseAlertRules, type AlertLog, type AlertState } from '../../processors/alerts';
import type { Alert } from '../../processors/records';
import { sampleLog } from '../../test/support/otlp-fixtures';
import { jsonSerde, keyValueStoreSpec, stringSerde, TopologyBuilder } from '../../topology';
import { CollectingSink, TopologyTestDriver } from '../../topology/testing';
import { LOG_ALERT_STATE_STORE, LogAlertRules } from './log-alerts';

const T0 = Date.UTC(2026, 0, 15, 10, 30);

/** One alert per product (dedup by product) and a count per product: the state grows with the products. */
const rules = parseAlertRules({
  version: 1,
  rules: [
    {
      id: 'product-errors',
      type: 'match',
      when: { min_level: 'error' },
      alert: { issue_code: 'PRODUCT', severity: 'error', message: '{product_id} failed' },
      dedup: { by: ['product_id'], cooldown_seconds: 300 },
    },
    {
      id: 'product-storm',
      type: 'threshold',
      when: { min_level: 'error' },
      metric: 'count',
      above: 2,
      window_seconds: 60,
      group_by: ['product_id'],
      alert: { issue_code: 'STORM', severity: 'error', message: '{product_id}: {value} errors' },
    },
  ],
});

function logAlerts() {
  const sink = new CollectingSink<string, Alert>('stacklens_alerts');
  const builder = new TopologyBuilder();
  builder.addStateStore(keyValueStoreSpec(LOG_ALERT_STATE_STORE, { keySerde: stringSerde() }));
  builder
    .stream<string, AlertLog>('logs', 'logs', { keySerde: stringSerde(), valueSerde: jsonSerde<AlertLog>() })
    .process<string, Alert>('log-alert-rules', () => new LogAlertRules(rules, 10_000), {
      stores: [LOG_ALERT_STATE_STORE],
    })
    .toSink('to-sink', sink);
  const driver = new TopologyTestDriver(builder.build(), { applicationId: 'log-alerts' });
  const input = driver.createInputTopic<string, AlertLog>('logs', {
    keySerde: stringSerde(),
    valueSerde: jsonSerde<AlertLog>(),
  });
  const state = () => driver.keyValueStore<string, AlertState>(LOG_ALERT_STATE_STORE).get('beorn');
  return { driver, input, sink, state };
}

const errorLog = (i: number, product: string) =>
  sampleLog({
    id: `otel-logs:0:${i}:0`,
    service: 'beorn',
    severity_number: 17,
    severity_text: 'ERROR',
    product_id: product,
    time_ms: T0 + i,
  });

describe('LogAlertRules', () => {
  it("changes a service's state in place: no log copies the tables the state already holds", () => {
    const c = logAlerts();
    c.input.pipe('beorn', errorLog(0, 'PROD-0'), T0);
    const first = c.state()!;
    const { dedup, windows } = first;
    for (let i = 1; i <= 300; i++) {
      // A new product (a new alert and a new window) or an old one (a count and a bucket update).
      c.input.pipe('beorn', errorLog(i, i % 2 === 0 ? `NEW-${i}` : `PROD-${i % 7}`), T0 + i);
      const now = c.state()!;
      expect(now).toBe(first);
      expect(now.dedup).toBe(dedup);
      expect(now.windows).toBe(windows);
    }
    expect(Object.keys(windows)).toHaveLength(150 + 7);
    // Products 1..6 got 3 errors or more within a minute: a storm alert each, besides the match alerts.
    const storms = c.sink.buffered.filter((w) => w.record.value.rule_id === 'product-storm');
    expect(new Set(storms.map((w) => w.record.value.service))).toEqual(new Set(['beorn']));
    expect(storms.length).toBeGreaterThanOrEqual(6);
    c.driver.close();
  });

  it('closes the dedup windows as stream time passes and re-emits alerts whose count grew', () => {
    const c = logAlerts();
    for (let i = 0; i < 3; i++) c.input.pipe('beorn', errorLog(i, 'PROD-1'), T0 + i);
    const state = c.state()!;
    expect(Object.keys(state.dedup)).toHaveLength(2);
    c.input.pipe('beorn', errorLog(600_000, 'PROD-2'), T0 + 600_000);
    const finals = c.sink.buffered.map((w) => w.record.value).filter((a) => a.rule_id === 'product-errors');
    // PROD-1's alert at once, PROD-2's at once, then PROD-1's final count as its window closed.
    expect(finals.map((a) => a.count)).toEqual([1, 1, 3]);
    expect(c.state()).toBe(state);
    // PROD-1's match and storm alerts are forgotten; PROD-2's match alert stays open.
    expect(Object.values(state.dedup).map((e) => e.alert.message)).toEqual(['PROD-2 failed']);
    c.driver.close();
  });
});
