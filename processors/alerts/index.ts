export {
  alertId,
  alertLogProjection,
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
export type { AlertLog, AlertState, AlertTransition, DedupEntry, ThresholdBuckets } from './engine';
export { AlertRulesFileSchema, parseAlertRules, parseAlertRulesText } from './rules';
export type { AlertRule, AlertRules, AlertRulesFile, MatchRule, ThresholdRule, TraceRule } from './rules';
