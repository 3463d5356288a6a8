import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sampleLog, sampleSpan } from '../../test/support/otlp-fixtures';
import { addLog, addSpan, emptyCorrelation } from '../correlate';
import { AlertRulesError } from '../errors';
import type { Alert, LogRecord } from '../records';
import {
  alertId,
  evaluateCorrelation,
  evaluateLog,
  flushAlerts,
  initialAlertState,
  type AlertState,
} from './engine';
import { parseAlertRules, parseAlertRulesText, type AlertRulesFile } from './rules';

const defaultRules = parseAlertRulesText(
  readFileSync(join(__dirname, '../../config/alert-rules.json'), 'utf8'),
);
const T0 = Date.UTC(2026, 0, 15, 10, 30, 0);

const errorLog = (i: number, overrides: Partial<LogRecord> = {}): LogRecord =>
  sampleLog({
    id: `otel-logs:0:${i}:0`,
    time_ms: T0 + i * 1000,
    time_unix_nano: `${T0 + i * 1000}000000`,
    severity_number: 17,
    severity_text: 'ERROR',
    service: 'beorn',
    error_code: 'PAYMENT_FAILURE',
    body: `Payment failed for order ${i}`,
    ...overrides,
  });

function run(
  rules: ReturnType<typeof parseAlertRules>,
  logs: readonly LogRecord[],
  state = initialAlertState(),
) {
  const alerts: Alert[] = [];
  for (const log of logs) {
    const t = evaluateLog(rules, state, log);
    state = t.state;
    alerts.push(...t.alerts);
  }
  return { state, alerts };
}

const rulesOf = (rules: unknown[]): ReturnType<typeof parseAlertRules> =>
  parseAlertRules({ version: 1, rules });

const paymentRule = {
  id: 'payment',
  type: 'match',
  when: { error_code: ['PAYMENT_FAILURE'] },
  alert: { issue_code: 'PAYMENT_FAILURE', severity: 'error', message: 'Payment failed in {service}' },
  dedup: { by: ['service'], cooldown_seconds: 300 },
};

describe('rules file', () => {
  it('the shipped config/alert-rules.json is valid', () => {
    expect([...defaultRules.byId.keys()]).toEqual([
      'sense-app-errors',
      'payment-failure',
      'price-missing',
      'error-ratio',
      'slow-trace',
      'trace-error',
    ]);
  });

  it.each([
    [
      { ...paymentRule, alert: { ...paymentRule.alert, severity: 'loud' } },
      /rule "payment" \(#0\): alert\.severity/,
    ],
    [{ ...paymentRule, when: { body: '(' } }, /rule "payment" \(#0\): when\.body: invalid regex/],
    [{ ...paymentRule, when: { colour: 'red' } }, /rule "payment" \(#0\): when: .*colour/],
    [{ ...paymentRule, type: 'threshold' }, /rule "payment" \(#0\): (metric|above|window_seconds)/],
    [{ ...paymentRule, id: 'bad id!' }, /rule "bad id!" \(#0\): id: use letters/],
    [
      { ...paymentRule, type: 'trace', when: { has_error: true }, dedup: { by: ['service'] } },
      /rule "payment" \(#0\): dedup: a trace rule raises one alert per trace/,
    ],
  ])('names the rule and field of an error (%#)', (rule, message) => {
    expect(() => rulesOf([rule])).toThrow(AlertRulesError);
    expect(() => rulesOf([rule])).toThrow(message);
  });

  it('rejects duplicate ids, bad JSON and wrong versions', () => {
    expect(() => rulesOf([paymentRule, paymentRule])).toThrow(/rule "payment" \(#1\): id: duplicate/);
    expect(() => parseAlertRulesText('{')).toThrow(/not JSON/);
    expect(() => parseAlertRules({ version: 2, rules: [] } as unknown as AlertRulesFile)).toThrow(/version/);
  });

  it('skips disabled rules', () => {
    expect(rulesOf([{ ...paymentRule, enabled: false }]).logRules).toEqual([]);
  });
});

describe('match rules with dedup', () => {
  const rules = rulesOf([paymentRule]);

  it('turns a storm into one alert, then one final update with the count', () => {
    const storm = Array.from({ length: 50 }, (_, i) => errorLog(i));
    const { state, alerts } = run(rules, storm);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      issue_code: 'PAYMENT_FAILURE',
      severity: 'error',
      message: 'Payment failed in beorn',
      rule_id: 'payment',
      service: 'beorn',
      count: 1,
      related_trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      related_logs: ['otel-logs:0:0:0'],
      created_at: '2026-01-15T10:30:00.000Z',
      created_by: 'system',
      window_start: '2026-01-15T10:30:00.000Z',
      automation_action: null,
    });
    expect(flushAlerts(rules, state).alerts).toEqual([]); // window still open
    const closed = flushAlerts(rules, state, T0 + 300_000);
    expect(closed.alerts).toHaveLength(1);
    expect(closed.alerts[0]).toMatchObject({ id: alerts[0]!.id, count: 50 });
    expect(closed.alerts[0]!.related_logs).toHaveLength(20);
    expect(closed.state.dedup).toEqual({});
  });

  it('keys dedup by service and opens a new alert in the next cooldown window', () => {
    const { alerts } = run(rules, [errorLog(0), errorLog(1, { service: 'arda' }), errorLog(301)]);
    expect(alerts.map((a) => [a.service, a.window_start])).toEqual([
      ['beorn', '2026-01-15T10:30:00.000Z'],
      ['arda', '2026-01-15T10:30:00.000Z'],
      ['beorn', '2026-01-15T10:35:00.000Z'],
    ]);
    expect(new Set(alerts.map((a) => a.id)).size).toBe(3);
  });

  it('gives replays the same alerts and ids, and does not count a replayed log twice', () => {
    const logs = [errorLog(0), errorLog(1)];
    const first = run(rules, logs);
    const replay = run(rules, logs);
    expect(replay.alerts).toEqual(first.alerts);
    expect(first.alerts[0]!.id).toBe(alertId('payment', 'service=beorn', T0));
    const again = run(rules, logs, first.state);
    expect(again.alerts).toEqual([]);
    expect(Object.values(again.state.dedup)[0]!.alert.count).toBe(2);
  });

  it('does not mutate the state it is given and returns it unchanged for non-matching logs', () => {
    const state = initialAlertState();
    const frozen = JSON.stringify(state);
    const t = evaluateLog(rules, state, errorLog(0));
    expect(JSON.stringify(state)).toBe(frozen);
    expect(evaluateLog(rules, t.state, errorLog(0, { error_code: 'TIMEOUT', time_ms: 0 })).state).toBe(
      t.state,
    );
  });

  it('matches on level, service, body regex and attributes', () => {
    const filtered = rulesOf([
      {
        ...paymentRule,
        when: {
          min_level: 'warn',
          service: ['beorn'],
          body: 'order \\d+$',
          attributes: { 'deployment.environment.name': '^dev$', workflow_id: 'snowflake' },
        },
      },
    ]);
    expect(run(filtered, [errorLog(0)]).alerts).toHaveLength(1);
    expect(run(filtered, [errorLog(0, { severity_number: 9 })]).alerts).toHaveLength(0);
    expect(run(filtered, [errorLog(0, { body: 'order x' })]).alerts).toHaveLength(0);
    expect(run(filtered, [errorLog(0, { log_attributes: {} })]).alerts).toHaveLength(0);
  });
});

describe('threshold rules', () => {
  const ratioRule = {
    id: 'ratio',
    type: 'threshold',
    when: { min_level: 'error' },
    metric: 'ratio',
    above: 0.2,
    window_seconds: 300,
    min_total: 10,
    alert: {
      issue_code: 'HIGH_ERROR_RATIO',
      severity: 'error',
      message: '{service} {value} ({hits}/{total})',
    },
  };

  it('fires when the error ratio over the window exceeds the bound', () => {
    const rules = rulesOf([ratioRule]);
    const ok = Array.from({ length: 9 }, (_, i) => errorLog(i, { severity_number: 9, error_code: '' }));
    expect(run(rules, [...ok, errorLog(9)]).alerts).toHaveLength(0); // 1/10 = 10%
    const burst = [...ok, errorLog(9), errorLog(10), errorLog(11)]; // 3/12 = 25%
    const { alerts } = run(rules, burst);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.message).toBe('beorn 25.0% (3/12)');
  });

  it('forgets records that left the window', () => {
    const rules = rulesOf([{ ...ratioRule, metric: 'count', above: 2, min_total: 0 }]);
    const spread = [errorLog(0), errorLog(1), errorLog(400)]; // never 3 within 5 minutes
    expect(run(rules, spread).alerts).toHaveLength(0);
    expect(run(rules, [errorLog(0), errorLog(1), errorLog(2)]).alerts).toHaveLength(1);
  });

  it('computes rates per second and drops stale windows on flush', () => {
    const rules = rulesOf([{ ...ratioRule, metric: 'rate', above: 0.01, window_seconds: 60, min_total: 0 }]);
    const { state, alerts } = run(rules, [errorLog(0)]); // 1/60 per second > 0.01
    expect(alerts).toHaveLength(1);
    expect(Object.keys(state.windows)).toHaveLength(1);
    expect(flushAlerts(rules, state, T0 + 3_600_000).state.windows).toEqual({});
  });
});

describe('trace rules on correlations', () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const slow = () => {
    let c = emptyCorrelation(traceId);
    c = addSpan(c, {
      ...sampleSpan(),
      start_time_unix_nano: `${T0}000000`,
      end_time_unix_nano: `${T0 + 6000}000000`,
      status_code: 'Error',
      status_message: 'Upstream inventory call timed out',
      error_code: 'TIMEOUT',
    });
    return addLog(c, errorLog(1, { error_code: 'TIMEOUT' }));
  };

  it('raises slow-trace and trace-error once per trace, however often the correlation updates', () => {
    let state: AlertState = initialAlertState();
    const first = evaluateCorrelation(defaultRules, state, slow());
    state = first.state;
    expect(first.alerts.map((a) => [a.rule_id, a.issue_code, a.severity])).toEqual([
      ['slow-trace', 'SLOW_TRACE', 'warn'],
      ['trace-error', 'TIMEOUT', 'warn'],
    ]);
    expect(first.alerts[0]!.message).toBe('POST /api/v1/design in arda took 6000 ms (services: arda, beorn)');
    expect(first.alerts[0]!.related_trace_id).toBe(traceId);
    expect(first.alerts[0]!.related_logs).toEqual(['otel-logs:0:1:0']);
    const update = evaluateCorrelation(defaultRules, state, addLog(slow(), errorLog(2)));
    expect(update.alerts).toEqual([]);
    expect(flushAlerts(defaultRules, update.state, T0 + 3_600_000).alerts).toEqual([]);
  });

  it('gives a trace rule one alert id per trace, however the correlation grows, placed at the trace start', () => {
    const early = addSpan(emptyCorrelation(traceId), {
      ...sampleSpan(),
      parent_span_id: 'aaaaaaaaaaaaaaaa',
      service: 'beorn',
      start_time_unix_nano: `${T0}000000`,
      end_time_unix_nano: `${T0 + 100}000000`,
      status_code: 'Error',
      error_code: 'TIMEOUT',
    });
    // Later: the root span (another root service) and an earlier error with another code, 7 s later.
    const grown = addLog(
      addSpan(early, {
        ...sampleSpan(),
        start_time_unix_nano: `${T0}000000`,
        end_time_unix_nano: `${T0 + 7_000}000000`,
      }),
      errorLog(-1, { error_code: 'PAYMENT_FAILURE' }),
    );
    const first = evaluateCorrelation(defaultRules, initialAlertState(), early).alerts;
    const again = evaluateCorrelation(defaultRules, initialAlertState(), grown).alerts;
    expect(first.map((a) => a.rule_id)).toEqual(['trace-error']);
    expect(again.map((a) => a.rule_id)).toEqual(['slow-trace', 'trace-error']);
    expect(again[1]!.id).toBe(first[0]!.id);
    expect(again[1]!.issue_code).toBe('PAYMENT_FAILURE');
    expect(again[1]!.window_start).toBe(new Date(grown.start_ms).toISOString());
    expect(first[0]!.window_start).toBe(new Date(early.start_ms).toISOString());
  });

  it('ignores fast healthy traces', () => {
    const c = addSpan(emptyCorrelation(traceId), sampleSpan());
    expect(evaluateCorrelation(defaultRules, initialAlertState(), c).alerts).toEqual([]);
  });
});

describe('default rules on logs', () => {
  it('alerts on Sense app errors and on PAYMENT_FAILURE, deduplicated per service and code', () => {
    const { alerts } = run(defaultRules, [
      errorLog(0),
      errorLog(1),
      errorLog(2, { service: 'palantir', error_code: 'PRICE_MISSING', product_id: 'PROD-401' }),
    ]);
    expect(alerts.map((a) => [a.rule_id, a.issue_code, a.service])).toEqual([
      ['sense-app-errors', 'PAYMENT_FAILURE', 'beorn'],
      ['payment-failure', 'PAYMENT_FAILURE', 'beorn'],
      ['sense-app-errors', 'PRICE_MISSING', 'palantir'],
      ['price-missing', 'PRICE_MISSING', 'palantir'],
    ]);
    expect(alerts[3]).toMatchObject({
      message: 'Product price is null or missing (product PROD-401)',
      suggested_fix: 'Check inventory service response',
      confidence: 0.95,
      automation_possible: true,
      automation_action: 'retry_with_fallback_price',
    });
  });
});
