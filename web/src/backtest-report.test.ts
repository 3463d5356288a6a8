import { BacktestReportError, parseBacktestReport } from './backtest-report';

const report = {
  logs: 120,
  spans: 40,
  rules: [
    {
      rule_id: 'errors',
      type: 'match',
      alerts: [
        {
          id: 'a1',
          created_at: '2026-12-01T10:00:00.000Z',
          service: 'checkout',
          count: 3,
          severity: 'error',
          message: 'payment failed',
        },
      ],
    },
    { rule_id: 'quiet', type: 'threshold', alerts: [] },
  ],
};

describe('parseBacktestReport', () => {
  it('reads the JSON report of stacklens rules backtest', () => {
    expect(parseBacktestReport(JSON.stringify(report))).toEqual(report);
  });

  it('names where a report that is not one goes wrong', () => {
    expect(() => parseBacktestReport('{')).toThrow(/not JSON/);
    expect(() => parseBacktestReport('[]')).toThrow('the report is not an object');
    expect(() => parseBacktestReport(JSON.stringify({ ...report, logs: -1 }))).toThrow('logs is not a count');
    const bad = structuredClone(report);
    (bad.rules[0]!.alerts[0] as unknown as Record<string, unknown>).count = '3';
    expect(() => parseBacktestReport(JSON.stringify(bad))).toThrow(
      new BacktestReportError('rules[0].alerts[0].count is not a count'),
    );
  });
});
