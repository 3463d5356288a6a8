import { parseAlertRules } from '../../processors/alerts';
import { sampleLog, sampleSpan } from '../../test/support/otlp-fixtures';
import { Backtest, formatBacktestTable } from './backtest-engine';

const T0 = Date.UTC(2026, 0, 15, 10, 30);
const rules = parseAlertRules({
  version: 1,
  rules: [
    {
      id: 'errors',
      type: 'match',
      when: { min_level: 'error' },
      alert: { issue_code: 'ERR', severity: 'error', message: '{service} failed' },
      dedup: { cooldown_seconds: 60 },
    },
    {
      id: 'slow',
      type: 'trace',
      when: { min_duration_ms: 5000 },
      alert: { issue_code: 'SLOW', severity: 'warn', message: '{trace_id} slow' },
      dedup: { by: ['trace_id'], cooldown_seconds: 600 },
    },
    {
      id: 'never',
      type: 'match',
      when: { body: 'no such text' },
      alert: { issue_code: 'NEVER', severity: 'info', message: 'never' },
    },
  ],
});

const error = (i: number, at: number) =>
  sampleLog({ id: `l:0:${i}:0`, service: 'beorn', severity_number: 17, severity_text: 'ERROR', time_ms: at });

describe('Backtest', () => {
  it('reports per rule what would have fired, one alert per dedup window with its final count', () => {
    const backtest = new Backtest(rules, { windowMs: 2_000, graceMs: 1_000, maxOpenTraces: 10 });
    for (let i = 0; i < 3; i++) backtest.addLog(error(i, T0 + i * 1_000));
    backtest.addLog(error(3, T0 + 61_000)); // the next window
    const report = backtest.finish();
    expect(report.rules.map((r) => [r.rule_id, r.alerts.length])).toEqual([
      ['errors', 2],
      ['slow', 0],
      ['never', 0],
    ]);
    expect(report.rules[0]!.alerts.map((a) => a.count)).toEqual([3, 1]);
    expect(formatBacktestTable(report)).toContain('errors (match): 2 alerts');
  });

  it('judges a trace once it has been quiet for window plus grace, or at the end', () => {
    const backtest = new Backtest(rules, { windowMs: 2_000, graceMs: 1_000, maxOpenTraces: 10 });
    const slow = (traceId: string, at: number) =>
      sampleSpan({
        trace_id: traceId,
        start_ms: at,
        duration_ms: 6_000,
        start_time_unix_nano: `${at}000000`,
        end_time_unix_nano: `${at + 6_000}000000`,
        duration_ns: '6000000000',
      });
    backtest.addSpan(slow('a'.repeat(32), T0));
    backtest.addLog(error(0, T0 + 60_000)); // advances event time: trace a is judged now
    backtest.addSpan(slow('b'.repeat(32), T0 + 60_000)); // judged at the end
    const slowAlerts = backtest.finish().rules.find((r) => r.rule_id === 'slow')!.alerts;
    expect(slowAlerts.map((a) => a.message)).toEqual([`${'a'.repeat(32)} slow`, `${'b'.repeat(32)} slow`]);
  });
});
