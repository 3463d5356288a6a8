import {
  bucketStart,
  mayRaiseAlert,
  matchesLogFilter,
  thresholdGroup,
  type AlertCountBucket,
  type AlertCounts,
  type AlertLog,
} from './engine';
import type { AlertRules } from './rules';

/** A summary of one service's logs that raise no alert. */
export interface ServiceAlertCounts {
  service: string;
  counts: AlertCounts;
}

/**
 * What one input batch of logs gives the log rules, in order: every log that may raise an alert
 * (mayRaiseAlert), each preceded by a summary of its service's other logs since the previous item of
 * that service, and at the end a summary of each service's remaining logs. The rules keep their state
 * per service, so applying these items in order (applyLog, applyCounts) gives the same counts,
 * watermarks and alerts as applying every log; only the lateness of a summarized log is judged per
 * bucket (applyCounts). Most logs raise nothing, so the rules' repartition carries a few items per
 * batch instead of every log.
 */
export function withAlertCounts<T extends AlertLog>(
  rules: AlertRules,
  logs: readonly T[],
): (T | ServiceAlertCounts)[] {
  const out: (T | ServiceAlertCounts)[] = [];
  const pending = new Map<string, { counts: AlertCounts; buckets: Map<string, AlertCountBucket> }>();
  const takePending = (service: string): void => {
    const summary = pending.get(service);
    if (summary === undefined) return;
    pending.delete(service);
    out.push({ service, counts: summary.counts });
  };
  for (const log of logs) {
    if (mayRaiseAlert(rules, log)) {
      takePending(log.service);
      out.push(log);
      continue;
    }
    let summary = pending.get(log.service);
    if (summary === undefined) {
      summary = { counts: { time_ms: log.time_ms, buckets: [] }, buckets: new Map() };
      pending.set(log.service, summary);
    } else if (log.time_ms > summary.counts.time_ms) {
      summary.counts.time_ms = log.time_ms;
    }
    for (const rule of rules.logRules) {
      if (rule.type !== 'threshold' || !matchesLogFilter(rule.scope, log)) continue;
      const group = thresholdGroup(rule, log);
      const start_ms = bucketStart(rule, log.time_ms);
      const id = `${rule.id}\u0000${group}\u0000${start_ms}`;
      const bucket = summary.buckets.get(id);
      if (bucket !== undefined) bucket.count += 1;
      else {
        const added = { rule_id: rule.id, group, start_ms, count: 1 };
        summary.buckets.set(id, added);
        summary.counts.buckets.push(added);
      }
    }
  }
  for (const service of [...pending.keys()]) takePending(service);
  return out;
}

/** What the log rules read, item by item: a log that may raise an alert, or a summary of others. */
export type LogRuleInput = AlertLog | ServiceAlertCounts;

export function isAlertCounts<T extends AlertLog>(item: T | ServiceAlertCounts): item is ServiceAlertCounts {
  return 'counts' in item;
}
