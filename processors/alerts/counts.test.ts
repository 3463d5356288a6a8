import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sampleLog } from '../../test/support/otlp-fixtures';
import type { Alert, LogRecord } from '../records';
import { isAlertCounts, withAlertCounts } from './counts';
import { applyCounts, applyLog, initialAlertState, mayRaiseAlert, type AlertState } from './engine';
import { parseAlertRules, parseAlertRulesText, type AlertRules } from './rules';

const shippedRules = parseAlertRulesText(
  readFileSync(join(__dirname, '../../config/alert-rules.json'), 'utf8'),
);
/** Threshold rules grouped by other fields than the service, one with a narrower scope. */
const groupedRules = parseAlertRules({
  version: 1,
  rules: [
    {
      id: 'code-rate',
      type: 'threshold',
      when: { min_level: 'warn' },
      scope: { env: ['prod'] },
      metric: 'ratio',
      above: 0.3,
      window_seconds: 60,
      group_by: ['service', 'error_code'],
      alert: { issue_code: 'RATE', severity: 'warn', message: '{value} in {service}' },
    },
    {
      id: 'errors',
      type: 'threshold',
      when: { min_level: 'error' },
      metric: 'count',
      above: 3,
      window_seconds: 30,
      alert: { issue_code: 'COUNT', severity: 'error', message: '{value} errors in {service}' },
    },
  ],
});

const T0 = Date.UTC(2026, 0, 15, 10, 0, 0);
const SERVICES = ['beorn', 'palantir', 'arda', 'ithil'];

/** A deterministic mix of services, levels and codes, partly out of order, some far behind. */
function logs(count: number): LogRecord[] {
  let seed = 7;
  const next = (n: number): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed % n;
  };
  return Array.from({ length: count }, (_, i) => {
    const level = next(10);
    const severity = level < 6 ? 9 : level < 8 ? 13 : 17;
    const late = next(50) === 0 ? 400_000 : next(5) === 0 ? next(20_000) : 0;
    const time = T0 + i * 250 - late;
    return sampleLog({
      id: `otel-logs:0:${i}:0`,
      time_ms: time,
      time_unix_nano: `${time}000000`,
      severity_number: severity,
      severity_text: severity === 17 ? 'ERROR' : severity === 13 ? 'WARN' : 'INFO',
      service: SERVICES[next(SERVICES.length)]!,
      env: next(3) === 0 ? 'dev' : 'prod',
      error_code: severity >= 13 ? ['PAYMENT_FAILURE', 'PRICE_MISSING', 'TIMEOUT'][next(3)]! : '',
    });
  });
}

/** Applies the inputs in order to per-service states, as the log rules processor does. */
function run(rules: AlertRules, inputs: readonly (LogRecord | ReturnType<typeof withAlertCounts>[number])[]) {
  const states = new Map<string, AlertState>();
  const alerts: Alert[] = [];
  for (const input of inputs) {
    const state = states.get(input.service) ?? initialAlertState();
    states.set(input.service, state);
    if (isAlertCounts(input)) applyCounts(rules, state, input.counts);
    else applyLog(rules, state, input, alerts);
  }
  return { states: Object.fromEntries(states), alerts };
}

describe('withAlertCounts', () => {
  const input = logs(2_000);

  it.each([
    ['the shipped rules', shippedRules],
    ['threshold rules grouped by service and error code', groupedRules],
  ])('gives the same alerts and state as every log, with %s', (_name, rules) => {
    const full = run(rules, input);
    expect(full.alerts.length).toBeGreaterThan(0);
    const items = [];
    for (let i = 0; i < input.length; i += 200)
      items.push(...withAlertCounts(rules, input.slice(i, i + 200)));
    expect(run(rules, items)).toEqual(full);
    // Each log that may raise an alert, at most one summary before it, one per service at each end.
    const hits = input.filter((log) => mayRaiseAlert(rules, log)).length;
    expect(hits).toBeLessThan(input.length / 2);
    expect(items.length).toBeLessThanOrEqual(2 * hits + SERVICES.length * (input.length / 200));
  });

  it('puts a service’s summary before its next log that may raise an alert, and the rest at the end', () => {
    const rules = shippedRules;
    const info = (i: number, service: string) =>
      sampleLog({ id: `i${i}`, service, severity_number: 9, severity_text: 'INFO', time_ms: T0 + i });
    const error = (i: number, service: string) =>
      sampleLog({ id: `e${i}`, service, severity_number: 17, severity_text: 'ERROR', time_ms: T0 + i });
    const items = withAlertCounts(rules, [
      info(1, 'a'),
      info(2, 'b'),
      info(3, 'a'),
      error(4, 'a'),
      info(5, 'a'),
    ]);
    expect(
      items.map((item) =>
        isAlertCounts(item) ? `counts:${item.service}:${item.counts.time_ms - T0}` : item.id,
      ),
    ).toEqual(['counts:a:3', 'e4', 'counts:b:2', 'counts:a:5']);
    const [first] = items;
    expect(isAlertCounts(first!) && first.counts.buckets).toEqual([
      { rule_id: 'error-ratio', group: 'service=a', start_ms: expect.any(Number), count: 2 },
    ]);
  });
});
