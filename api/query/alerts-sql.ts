import type { AlertSeverity } from '../../processors/records';
import { SqlParams, table, where, type BuiltQuery } from './sql';

export const ALERTS_TABLE = 'stacklens_alerts';

/** Severities at or above each minimum. */
export const SEVERITIES_AT_LEAST: Record<AlertSeverity, AlertSeverity[]> = {
  info: ['info', 'warn', 'error'],
  warn: ['warn', 'error'],
  error: ['error'],
};

export interface AlertFilter {
  minSeverity?: AlertSeverity;
  service?: string;
  issueCode?: string;
  traceId?: string;
  startNanos?: bigint;
  endNanos?: bigint;
}

/** A stacklens_alerts row; the route turns it back into the Alert event shape. */
export interface AlertRow {
  id: string;
  issue_code: string;
  severity: AlertSeverity;
  message: string;
  suggested_fix: string;
  confidence: number;
  automation_possible: boolean;
  automation_action: string;
  related_trace_id: string;
  related_logs: string[];
  created_at_ms: string;
  created_by: string;
  rule_id: string;
  service: string;
  count: number | string;
  window_start_ms: string;
}

/**
 * Newest alerts first. The table is a ReplacingMergeTree(count): a storm re-emits one id with a growing
 * count, and FINAL returns only the latest.
 */
export function buildAlertsQuery(database: string, filter: AlertFilter, limit: number): BuiltQuery {
  const p = new SqlParams();
  const c: string[] = [];
  if (filter.minSeverity !== undefined) {
    c.push(
      `severity IN (${SEVERITIES_AT_LEAST[filter.minSeverity].map((s) => p.bind('String', s)).join(', ')})`,
    );
  }
  if (filter.service !== undefined) c.push(`service = ${p.bind('String', filter.service)}`);
  if (filter.issueCode !== undefined) c.push(`issue_code = ${p.bind('String', filter.issueCode)}`);
  if (filter.traceId !== undefined) c.push(`related_trace_id = ${p.bind('String', filter.traceId)}`);
  if (filter.startNanos !== undefined)
    c.push(`created_at >= fromUnixTimestamp64Nano(${p.bind('Int64', filter.startNanos)})`);
  if (filter.endNanos !== undefined)
    c.push(`created_at <= fromUnixTimestamp64Nano(${p.bind('Int64', filter.endNanos)})`);
  const query = `SELECT
  id, issue_code, severity, message, suggested_fix, round(toFloat64(confidence), 6) AS confidence,
  automation_possible, automation_action, related_trace_id, related_logs,
  toString(toUnixTimestamp64Milli(created_at)) AS created_at_ms,
  created_by, rule_id, service, count,
  toString(toUnixTimestamp64Milli(window_start)) AS window_start_ms
FROM ${table(database, ALERTS_TABLE)} FINAL
${where(c)}
ORDER BY created_at DESC, id ASC
LIMIT ${p.bind('UInt32', limit)}`;
  return { query, params: p.values };
}
