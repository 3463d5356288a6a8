import {
  applyFlush,
  applyLog,
  evaluateCorrelation,
  initialAlertState,
  type AlertRules,
  type AlertState,
} from '../../processors/alerts';
import {
  emptyCorrelation,
  foldLog,
  foldSpan,
  toCorrelationLog,
  toCorrelationSpan,
} from '../../processors/correlate';
import type { Alert, Correlation, LogRecord, SpanRecord } from '../../processors/records';

/**
 * The alert engine over a stretch of history, in memory and with no output but its report: what the
 * live pipeline's rules would have raised (app/pipeline/log-alerts.ts and the trace rules after the
 * correlator), from the same processors. Log rules run per service in record order, their dedup
 * windows closing as event time passes; a trace's rules run once no record of it arrived for the
 * correlation window plus grace (event time), or at the end. Alerts are kept by id with the highest
 * count, as the alert table keeps them.
 */
export interface BacktestOptions {
  windowMs: number;
  graceMs: number;
  /** Open traces held at most; beyond, the least recently active is judged early. */
  maxOpenTraces: number;
}

export interface RuleReport {
  rule_id: string;
  type: string;
  /** Alerts the rule would have raised, by time. */
  alerts: {
    id: string;
    created_at: string;
    service: string;
    count: number;
    severity: string;
    message: string;
  }[];
}

export interface BacktestReport {
  /** Records the rules saw. */
  logs: number;
  spans: number;
  /** Every rule of the file, fired or not, in file order. */
  rules: RuleReport[];
}

interface OpenTrace {
  correlation: Correlation;
  lastEventMs: number;
}

/** How often (event time) the closed traces and dedup windows are looked for. */
const SWEEP_MS = 1_000;

export class Backtest {
  private readonly services = new Map<string, AlertState>();
  private readonly traces = new Map<string, OpenTrace>();
  private readonly alerts = new Map<string, Alert>();
  private watermarkMs = Number.NEGATIVE_INFINITY;
  private lastSweepMs = Number.NEGATIVE_INFINITY;
  private logCount = 0;
  private spanCount = 0;

  constructor(
    private readonly rules: AlertRules,
    private readonly options: BacktestOptions,
  ) {}

  addLog(log: LogRecord): void {
    this.logCount++;
    let state = this.services.get(log.service);
    if (state === undefined) this.services.set(log.service, (state = initialAlertState()));
    const raised: Alert[] = [];
    applyLog(this.rules, state, log, raised);
    this.keep(raised);
    if (log.trace_id !== '')
      foldLog(this.trace(log.trace_id, log.time_ms).correlation, toCorrelationLog(log));
    this.advance(log.time_ms);
  }

  addSpan(span: SpanRecord): void {
    this.spanCount++;
    if (span.trace_id !== '') {
      foldSpan(this.trace(span.trace_id, span.start_ms).correlation, toCorrelationSpan(span));
      const open = this.traces.get(span.trace_id);
      if (open !== undefined) open.lastEventMs = Math.max(open.lastEventMs, span.start_ms + span.duration_ms);
    }
    this.advance(span.start_ms);
  }

  /** Closes every window and judges every open trace; the report. */
  finish(): BacktestReport {
    for (const state of this.services.values()) {
      const raised: Alert[] = [];
      applyFlush(this.rules, state, raised, Number.MAX_SAFE_INTEGER);
      this.keep(raised);
    }
    for (const [traceId, open] of this.traces) this.judge(traceId, open);
    const byRule = new Map<string, RuleReport['alerts']>();
    for (const a of this.alerts.values()) {
      let list = byRule.get(a.rule_id);
      if (list === undefined) byRule.set(a.rule_id, (list = []));
      list.push({
        id: a.id,
        created_at: a.created_at,
        service: a.service,
        count: a.count,
        severity: a.severity,
        message: a.message,
      });
    }
    return {
      logs: this.logCount,
      spans: this.spanCount,
      rules: [...this.rules.byId.values()].map((rule) => ({
        rule_id: rule.id,
        type: rule.type,
        alerts: (byRule.get(rule.id) ?? []).sort((x, y) => x.created_at.localeCompare(y.created_at)),
      })),
    };
  }

  private trace(traceId: string, eventMs: number): OpenTrace {
    let open = this.traces.get(traceId);
    if (open === undefined) {
      if (this.traces.size >= this.options.maxOpenTraces) {
        const [oldestId, oldest] = this.traces.entries().next().value as [string, OpenTrace];
        this.judge(oldestId, oldest);
      }
      open = { correlation: emptyCorrelation(traceId), lastEventMs: eventMs };
    } else {
      this.traces.delete(traceId); // re-inserted last: Map order is then least recently active first
      open.lastEventMs = Math.max(open.lastEventMs, eventMs);
    }
    this.traces.set(traceId, open);
    return open;
  }

  private advance(eventMs: number): void {
    if (eventMs > this.watermarkMs) this.watermarkMs = eventMs;
    if (this.watermarkMs - this.lastSweepMs < SWEEP_MS) return;
    this.lastSweepMs = this.watermarkMs;
    for (const state of this.services.values()) {
      const raised: Alert[] = [];
      applyFlush(this.rules, state, raised, this.watermarkMs);
      this.keep(raised);
    }
    const closedBefore = this.watermarkMs - this.options.windowMs - this.options.graceMs;
    for (const [traceId, open] of this.traces) {
      if (open.lastEventMs > closedBefore) continue;
      this.judge(traceId, open);
    }
  }

  private judge(traceId: string, open: OpenTrace): void {
    this.traces.delete(traceId);
    this.keep(evaluateCorrelation(this.rules, initialAlertState(), open.correlation).alerts);
  }

  private keep(alerts: readonly Alert[]): void {
    for (const a of alerts) {
      const known = this.alerts.get(a.id);
      if (known === undefined || a.count > known.count) this.alerts.set(a.id, a);
    }
  }
}

/** The report as a table: one line per rule, then one per alert it would have raised. */
export function formatBacktestTable(report: BacktestReport): string {
  const lines = [`${report.logs} logs, ${report.spans} spans`, ''];
  for (const rule of report.rules) {
    lines.push(
      `${rule.rule_id} (${rule.type}): ${rule.alerts.length} alert${rule.alerts.length === 1 ? '' : 's'}`,
    );
    for (const a of rule.alerts) {
      lines.push(
        `  ${a.created_at}  ${a.severity.padEnd(5)}  ${(a.service || '-').padEnd(12)}  ×${a.count}  ${a.message}`,
      );
    }
  }
  return lines.join('\n');
}
