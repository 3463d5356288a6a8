export {
  alertId,
  alertLogProjection,
  applyCounts,
  applyFlush,
  applyLog,
  evaluateCorrelation,
  evaluateLog,
  flushAlerts,
  initialAlertState,
  matchesLogFilter,
  renderTemplate,
  MAX_DEDUP_ENTRIES,
  MAX_RELATED_LOGS,
} from './engine';
export type {
  AlertCountBucket,
  AlertCounts,
  AlertLog,
  AlertState,
  AlertTransition,
  DedupEntry,
  ThresholdBuckets,
} from './engine';
export { isAlertCounts, withAlertCounts } from './counts';
export type { LogRuleInput, ServiceAlertCounts } from './counts';
export { AlertRulesFileSchema, parseAlertRules, parseAlertRulesText } from './rules';
export type { AlertRule, AlertRules, AlertRulesFile, MatchRule, ThresholdRule, TraceRule } from './rules';
