/**
 * The JSON report of `stacklens rules backtest --format json` (app/backtest/backtest-engine.ts
 * BacktestReport), checked field by field: the console renders a file the user picked or pasted, so
 * anything else is refused with the place it went wrong rather than half drawn.
 */
export interface BacktestAlert {
  id: string;
  created_at: string;
  service: string;
  count: number;
  severity: string;
  message: string;
}

export interface BacktestRule {
  rule_id: string;
  type: string;
  alerts: BacktestAlert[];
}

export interface BacktestReport {
  logs: number;
  spans: number;
  rules: BacktestRule[];
}

export class BacktestReportError extends Error {}

/** A report larger than this is not a backtest report of a reasonable range (and would stall the tab). */
export const MAX_REPORT_CHARS = 20_000_000;

export function parseBacktestReport(text: string): BacktestReport {
  if (text.length > MAX_REPORT_CHARS)
    throw new BacktestReportError(`the report has ${text.length} characters, more than ${MAX_REPORT_CHARS}`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new BacktestReportError(`not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  const report = object(json, 'the report');
  return {
    logs: count(report.logs, 'logs'),
    spans: count(report.spans, 'spans'),
    rules: array(report.rules, 'rules').map((r, i) => {
      const rule = object(r, `rules[${i}]`);
      return {
        rule_id: string(rule.rule_id, `rules[${i}].rule_id`),
        type: string(rule.type, `rules[${i}].type`),
        alerts: array(rule.alerts, `rules[${i}].alerts`).map((a, j) => {
          const at = `rules[${i}].alerts[${j}]`;
          const alert = object(a, at);
          return {
            id: string(alert.id, `${at}.id`),
            created_at: string(alert.created_at, `${at}.created_at`),
            service: string(alert.service, `${at}.service`),
            count: count(alert.count, `${at}.count`),
            severity: string(alert.severity, `${at}.severity`),
            message: string(alert.message, `${at}.message`),
          };
        }),
      };
    }),
  };
}

function object(v: unknown, at: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new BacktestReportError(`${at} is not an object`);
  return v as Record<string, unknown>;
}

function array(v: unknown, at: string): unknown[] {
  if (!Array.isArray(v)) throw new BacktestReportError(`${at} is not a list`);
  return v;
}

function string(v: unknown, at: string): string {
  if (typeof v !== 'string') throw new BacktestReportError(`${at} is not a string`);
  return v;
}

function count(v: unknown, at: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
    throw new BacktestReportError(`${at} is not a count`);
  return v;
}
