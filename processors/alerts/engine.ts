import { createHash } from 'node:crypto';
import { SEVERITY } from '../normalize/severity';
import type { Alert, Correlation, LogRecord } from '../records';
import {
  LEVEL_ORDER,
  type AlertRule,
  type AlertRules,
  type CompiledLogFilter,
  type KeyField,
  type Level,
  type MatchRule,
  type ThresholdRule,
  type TraceRule,
} from './rules';

/**
 * Alert evaluation as state transitions: (rules, state, record) → { state, alerts }. The state is plain
 * JSON, so the runtime can keep it in a state store. Two forms:
 * - `evaluateLog` / `evaluateCorrelation` / `flushAlerts` are pure: inputs are never mutated, and when
 *   neither the tables nor the watermark change the same state object is returned;
 * - `applyLog` / `applyFlush` change a state in place and say whether they changed it. A per-service state
 *   holds a table entry per alert and per threshold group, so copying its tables for every log (what the
 *   pure form does) would make each log cost as much as the state is large; in place, a log costs the same
 *   whatever the state holds. The pipeline's log alert processor keeps its states in a store and uses these.
 * In place, the tables' slots are replaced, never the entries or alerts in them: an alert already emitted
 * or a shallow copy of the state is never changed behind its holder's back.
 *
 * Dedup: an alert is identified by (rule, dedup key, cooldown window), windows aligned on event time.
 * The first occurrence emits the alert at once (count 1); later occurrences in the same window only
 * increase the count. flushAlerts, called by the runtime as event time advances, re-emits the alerts whose
 * window closed with their final count (same id: consumers keep the highest count) and forgets them.
 * Ids are UUIDs derived from (rule, key, window start), and created_at is the triggering record's event
 * time, so a replay produces identical alerts.
 */

/**
 * Dedup entries kept at most; beyond this the oldest windows are dropped (their final update is lost), a
 * tenth of the bound at a time so that the sort this takes is paid once per thousand new alerts.
 */
export const MAX_DEDUP_ENTRIES = 10_000;
/** Related log ids kept per alert. */
export const MAX_RELATED_LOGS = 20;

export interface DedupEntry {
  alert: Alert;
  /** Count the last emitted version of `alert` carried. */
  emitted_count: number;
  window_end_ms: number;
}

/** Per (threshold rule, group): [bucket start ms, hits, in-scope records], oldest first. */
export type ThresholdBuckets = [number, number, number][];

export interface AlertState {
  /** Highest event time seen (ms). */
  watermark_ms: number;
  /** By alert id. */
  dedup: Record<string, DedupEntry>;
  /** By `${rule id}\u0000${group key}`. */
  windows: Record<string, ThresholdBuckets>;
}

/**
 * Logs of one service that raise no alert, summarized (see counts.ts): what they add to the
 * threshold windows, and their latest event time.
 */
export interface AlertCounts {
  time_ms: number;
  /** In-scope logs per threshold rule, group and bucket start. */
  buckets: AlertCountBucket[];
}

export interface AlertCountBucket {
  rule_id: string;
  group: string;
  start_ms: number;
  count: number;
}

export interface AlertTransition {
  state: AlertState;
  alerts: Alert[];
}

/** The fields of a log that the log rules read (the pipeline's internal topic carries only these). */
export type AlertLog = Pick<
  LogRecord,
  | 'id'
  | 'time_ms'
  | 'severity_number'
  | 'severity_text'
  | 'body'
  | 'service'
  | 'env'
  | 'error_code'
  | 'trace_id'
  | 'workflow_id'
  | 'circuit_id'
  | 'product_id'
  | 'resource_id'
  | 'resource_type_id'
  | 'request_id'
  | 'log_attributes'
  | 'resource_attributes'
>;

export function initialAlertState(): AlertState {
  return { watermark_ms: 0, dedup: {}, windows: {} };
}

const ALERT_NAMESPACE = Buffer.from('6f1d4c62b1a44a4c9e1c5f2f7a9b3c10', 'hex');

/** Name-based UUID (version 5 layout, SHA-1) of the parts: equal inputs always give the same id. */
export function alertId(ruleId: string, key: string, windowStartMs: number): string {
  const hash = createHash('sha1')
    .update(ALERT_NAMESPACE)
    .update(`${ruleId}\u0000${key}\u0000${windowStartMs}`)
    .digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function levelOf(severity: number): Level {
  if (severity <= 0 || severity > 24) return 'unspecified';
  if (severity < SEVERITY.DEBUG) return 'trace';
  if (severity < SEVERITY.INFO) return 'debug';
  if (severity < SEVERITY.WARN) return 'info';
  if (severity < SEVERITY.ERROR) return 'warn';
  if (severity < SEVERITY.FATAL) return 'error';
  return 'fatal';
}

function matchesCode(codes: ReadonlySet<string>, code: string): boolean {
  return code !== '' && (codes.has(code) || codes.has('*'));
}

export function matchesLogFilter(filter: CompiledLogFilter, log: AlertLog): boolean {
  if (filter.levels !== undefined || filter.minLevel !== undefined) {
    const level = levelOf(log.severity_number);
    if (filter.levels !== undefined && !filter.levels.has(level)) return false;
    if (filter.minLevel !== undefined && LEVEL_ORDER[level] < filter.minLevel) return false;
  }
  if (filter.service !== undefined && !filter.service.has(log.service)) return false;
  if (filter.env !== undefined && !filter.env.has(log.env)) return false;
  if (filter.errorCode !== undefined && !matchesCode(filter.errorCode, log.error_code)) return false;
  if (filter.body !== undefined && !filter.body.test(log.body)) return false;
  for (const [key, pattern] of filter.attributes) {
    const value = log.log_attributes[key] ?? log.resource_attributes[key];
    if (value === undefined || !pattern.test(value)) return false;
  }
  return true;
}

export function matchesTraceRule(rule: TraceRule, c: Correlation): boolean {
  const when = rule.when;
  if (when.min_duration_ms !== undefined && c.duration_ms < when.min_duration_ms) return false;
  if (when.has_error !== undefined && c.error_count > 0 !== when.has_error) return false;
  if (when.error_code !== undefined && !matchesCode(new Set(when.error_code), c.first_error_code))
    return false;
  if (when.service !== undefined && !c.services.some((s) => when.service!.includes(s))) return false;
  if (when.root_service !== undefined && !when.root_service.includes(c.root_service)) return false;
  return true;
}

type KeySource = Record<KeyField, string>;

function keyOf(fields: readonly KeyField[], source: KeySource): string {
  return fields.map((f) => `${f}=${source[f]}`).join('|');
}

const PLACEHOLDER = /\{(\w+)\}/g;

/** Replaces {name} with values from `context`; unknown names stay as written. */
export function renderTemplate(template: string, context: Record<string, string | number>): string {
  return template.replace(PLACEHOLDER, (match, name: string) => {
    const value = context[name];
    return value === undefined ? match : String(value);
  });
}

interface Occurrence {
  rule: AlertRule;
  key: string;
  timeMs: number;
  service: string;
  traceId: string;
  logIds: readonly string[];
  context: Record<string, string | number>;
  /** Whether this occurrence adds to the count (a correlation update for an already alerted trace does not). */
  distinctFrom: (entry: DedupEntry) => boolean;
  /**
   * The window_start of a trace-keyed alert (default: timeMs). For a trace rule, the trace's start:
   * the alerts table is partitioned by window_start, and an update must land in its alert's partition,
   * which an end time moved by a late record could leave.
   */
  traceStartMs?: number;
}

function buildAlert(o: Occurrence, id: string, windowStartMs: number): Alert {
  const t = o.rule.alert;
  const context = { ...o.context, count: 1 };
  const issueCode = renderTemplate(t.issue_code, context);
  return {
    id,
    issue_code: issueCode === '' ? o.rule.id.toUpperCase() : issueCode,
    severity: t.severity,
    message: renderTemplate(t.message, context),
    suggested_fix: renderTemplate(t.suggested_fix, context),
    confidence: t.confidence,
    automation_possible: t.automation_possible,
    automation_action: t.automation_action,
    related_trace_id: o.traceId === '' ? null : o.traceId,
    related_logs: o.logIds.slice(0, MAX_RELATED_LOGS),
    created_at: new Date(o.timeMs).toISOString(),
    created_by: t.created_by,
    rule_id: o.rule.id,
    service: o.service,
    count: 1,
    window_start: new Date(windowStartMs).toISOString(),
  };
}

function mergeRelated(existing: readonly string[], added: readonly string[]): string[] {
  if (existing.length >= MAX_RELATED_LOGS || added.length === 0) return existing as string[];
  const out = existing.slice();
  for (const id of added) {
    if (out.length >= MAX_RELATED_LOGS) break;
    if (!out.includes(id)) out.push(id);
  }
  return out;
}

/**
 * Entry counts of dedup tables, by table object: counting a table's keys costs as much as the table is
 * large, so it is done once per table object (e.g. after a restore) and then kept up to date by the
 * in-place functions below, the only ones that add or delete entries. Not part of the state's JSON.
 */
const dedupSizes = new WeakMap<Record<string, DedupEntry>, number>();

function dedupSize(dedup: Record<string, DedupEntry>): number {
  let size = dedupSizes.get(dedup);
  if (size === undefined) {
    size = Object.keys(dedup).length;
    dedupSizes.set(dedup, size);
  }
  return size;
}

function deleteDedupEntry(dedup: Record<string, DedupEntry>, id: string): void {
  const size = dedupSize(dedup);
  delete dedup[id];
  dedupSizes.set(dedup, size - 1);
}

/** Beyond MAX_DEDUP_ENTRIES, drops the oldest-window entries down to nine tenths of the bound. */
function boundDedup(dedup: Record<string, DedupEntry>): void {
  if (dedupSize(dedup) <= MAX_DEDUP_ENTRIES) return;
  const ids = Object.keys(dedup);
  ids.sort((a, b) => dedup[a]!.window_end_ms - dedup[b]!.window_end_ms || (a < b ? -1 : 1));
  for (const id of ids.slice(0, ids.length - MAX_DEDUP_ENTRIES + MAX_DEDUP_ENTRIES / 10)) delete dedup[id];
  dedupSizes.set(dedup, Object.keys(dedup).length);
}

/** Applies one occurrence to the dedup table in place: a new alert, a count increase, or nothing. */
function occur(state: AlertState, o: Occurrence, alerts: Alert[]): boolean {
  const tracesKeyed = o.rule.dedupBy.includes('trace_id');
  // A trace-keyed alert is about that trace, whatever the time: its window is the trace itself.
  const windowStartMs = tracesKeyed ? 0 : Math.floor(o.timeMs / o.rule.cooldownMs) * o.rule.cooldownMs;
  const id = alertId(o.rule.id, o.key, windowStartMs);
  const entry = state.dedup[id];
  if (entry === undefined) {
    const alert = buildAlert(o, id, tracesKeyed ? (o.traceStartMs ?? o.timeMs) : windowStartMs);
    alerts.push(alert);
    const windowEnd = tracesKeyed ? o.timeMs + o.rule.cooldownMs : windowStartMs + o.rule.cooldownMs;
    const size = dedupSize(state.dedup);
    state.dedup[id] = { alert, emitted_count: 1, window_end_ms: windowEnd };
    dedupSizes.set(state.dedup, size + 1);
    boundDedup(state.dedup);
    return true;
  }
  if (!o.distinctFrom(entry)) return false;
  const alert: Alert = {
    ...entry.alert,
    count: entry.alert.count + 1,
    related_logs: mergeRelated(entry.alert.related_logs, o.logIds),
  };
  state.dedup[id] = { ...entry, alert };
  return true;
}

/** Moves the watermark up to `timeMs` in place. */
function advanceWatermark(state: AlertState, timeMs: number): boolean {
  if (timeMs <= state.watermark_ms) return false;
  state.watermark_ms = timeMs;
  return true;
}

/** A copy whose tables can be changed in place without changing `state` (entries are shared, never changed). */
function copyState(state: AlertState): AlertState {
  return { watermark_ms: state.watermark_ms, dedup: { ...state.dedup }, windows: { ...state.windows } };
}

/** Characters of a log's body an alert's {body} placeholder shows (longer bodies end with "…"). */
const CONTEXT_BODY_CHARS = 200;

/**
 * A function reducing a log to what `rules` read of it: the attributes only under the keys their filters
 * name, the body whole only when a filter matches on it (else its first CONTEXT_BODY_CHARS + 1 characters,
 * which is all the {body} placeholder needs to render the same). Applying the rules to the reduced log
 * gives the same state and alerts as applying them to the log.
 */
export function alertLogProjection(rules: AlertRules): (log: AlertLog) => AlertLog {
  const filters = rules.logRules.flatMap((rule) =>
    rule.type === 'threshold' ? [rule.when, rule.scope] : [rule.when],
  );
  const keys = [...new Set(filters.flatMap((filter) => filter.attributes.map(([key]) => key)))];
  const wholeBody = filters.some((filter) => filter.body !== undefined);
  const pick = (attributes: Record<string, string>): Record<string, string> => {
    const picked: Record<string, string> = {};
    for (const key of keys) if (Object.hasOwn(attributes, key)) picked[key] = attributes[key]!;
    return picked;
  };
  return (log) => ({
    id: log.id,
    time_ms: log.time_ms,
    severity_number: log.severity_number,
    severity_text: log.severity_text,
    body:
      wholeBody || log.body.length <= CONTEXT_BODY_CHARS
        ? log.body
        : log.body.slice(0, CONTEXT_BODY_CHARS + 1),
    service: log.service,
    env: log.env,
    error_code: log.error_code,
    trace_id: log.trace_id,
    workflow_id: log.workflow_id,
    circuit_id: log.circuit_id,
    product_id: log.product_id,
    resource_id: log.resource_id,
    resource_type_id: log.resource_type_id,
    request_id: log.request_id,
    log_attributes: pick(log.log_attributes),
    resource_attributes: pick(log.resource_attributes),
  });
}

function logContext(log: AlertLog): Record<string, string | number> {
  return {
    service: log.service,
    env: log.env,
    error_code: log.error_code,
    trace_id: log.trace_id,
    workflow_id: log.workflow_id,
    circuit_id: log.circuit_id,
    product_id: log.product_id,
    resource_id: log.resource_id,
    resource_type_id: log.resource_type_id,
    request_id: log.request_id,
    level: log.severity_text,
    body: log.body.length > CONTEXT_BODY_CHARS ? `${log.body.slice(0, CONTEXT_BODY_CHARS)}…` : log.body,
  };
}

function logOccurrence(rule: AlertRule, log: AlertLog, extra: Record<string, string | number>): Occurrence {
  return {
    rule,
    key: keyOf(rule.dedupBy, log),
    timeMs: log.time_ms,
    service: log.service,
    traceId: log.trace_id,
    logIds: [log.id],
    context: { ...logContext(log), ...extra },
    distinctFrom: (entry) => !entry.alert.related_logs.includes(log.id),
  };
}

/** Threshold metric over the buckets of the window ending at `nowMs`. */
function thresholdValue(
  rule: ThresholdRule,
  buckets: ThresholdBuckets,
): { value: number; hits: number; total: number } {
  let hits = 0;
  let total = 0;
  for (const [, h, t] of buckets) {
    hits += h;
    total += t;
  }
  const value =
    rule.metric === 'count'
      ? hits
      : rule.metric === 'rate'
        ? hits / (rule.windowMs / 1000)
        : total === 0
          ? 0
          : hits / total;
  return { value, hits, total };
}

/** Adds `hits` and `total` in-scope records to the bucket of `timeMs`, dropping buckets out of the window. */
function addToBuckets(
  rule: ThresholdRule,
  buckets: ThresholdBuckets | undefined,
  timeMs: number,
  hits: number,
  total: number,
): ThresholdBuckets {
  const start = bucketStart(rule, timeMs);
  const oldest = start - rule.windowMs + rule.bucketMs;
  const out: ThresholdBuckets = [];
  let added = false;
  for (const bucket of buckets ?? []) {
    if (bucket[0] < oldest) continue;
    if (bucket[0] === start) {
      out.push([start, bucket[1] + hits, bucket[2] + total]);
      added = true;
    } else {
      out.push(bucket);
    }
  }
  if (!added) {
    out.push([start, hits, total]);
    out.sort((a, b) => a[0] - b[0]);
  }
  return out;
}

export function bucketStart(rule: ThresholdRule, timeMs: number): number {
  return Math.floor(timeMs / rule.bucketMs) * rule.bucketMs;
}

function formatValue(rule: ThresholdRule, value: number): string {
  if (rule.metric === 'ratio') return `${(value * 100).toFixed(1)}%`;
  if (rule.metric === 'rate') return `${value.toFixed(2)}/s`;
  return String(value);
}

/** Counts the log in its threshold window (in place) and raises the alert when the metric is over. */
function applyThreshold(rule: ThresholdRule, state: AlertState, log: AlertLog, alerts: Alert[]): boolean {
  if (!matchesLogFilter(rule.scope, log)) return false;
  // Records too late for the window are ignored rather than reopening old buckets.
  if (log.time_ms < state.watermark_ms - rule.windowMs) return false;
  const hit = matchesLogFilter(rule.when, log);
  const group = thresholdGroup(rule, log);
  const windowKey = `${rule.id}\u0000${group}`;
  // A new bucket list (at most windowMs / bucketMs long) in the table's slot: the cost is the rule's, not the state's.
  const buckets = addToBuckets(rule, state.windows[windowKey], log.time_ms, hit ? 1 : 0, 1);
  state.windows[windowKey] = buckets;
  if (!hit) return true;
  const { value, hits, total } = thresholdValue(rule, buckets);
  if (total < rule.minTotal || !(value > rule.above)) return true;
  occur(
    state,
    logOccurrence(rule, log, {
      value: formatValue(rule, value),
      hits,
      total,
      window_minutes: rule.windowMs / 60_000,
    }),
    alerts,
  );
  return true;
}

/**
 * Applies the log rules (match and threshold) to one log, changing `state` in place; the alerts raised are
 * appended to `alerts`. The work depends on the rules, not on what the state holds.
 * @returns whether the state changed
 */
export function applyLog(rules: AlertRules, state: AlertState, log: AlertLog, alerts: Alert[]): boolean {
  let changed = false;
  for (const rule of rules.logRules) {
    if (rule.type === 'match') {
      if (matchesLogFilter(rule.when, log) && occur(state, logOccurrence(rule as MatchRule, log, {}), alerts))
        changed = true;
    } else if (applyThreshold(rule, state, log, alerts)) {
      changed = true;
    }
  }
  return advanceWatermark(state, log.time_ms) || changed;
}

/**
 * Applies a summary of logs that raise no alert (see counts.ts) in place: their in-scope counts go to
 * the threshold windows, and their latest event time moves the watermark, as applyLog of each would.
 * A bucket whose every log would have been too late for its window is ignored.
 * @returns whether the state changed
 */
export function applyCounts(rules: AlertRules, state: AlertState, counts: AlertCounts): boolean {
  let changed = false;
  for (const { rule_id, group, start_ms, count } of counts.buckets) {
    const rule = rules.byId.get(rule_id);
    if (rule?.type !== 'threshold') continue;
    if (start_ms + rule.bucketMs <= state.watermark_ms - rule.windowMs) continue;
    const windowKey = `${rule.id}\u0000${group}`;
    state.windows[windowKey] = addToBuckets(rule, state.windows[windowKey], start_ms, 0, count);
    changed = true;
  }
  return advanceWatermark(state, counts.time_ms) || changed;
}

/**
 * Whether applying the log rules to `log` may raise an alert: it matches a match rule, or both the
 * scope and the condition of a threshold rule. Any other log only adds to threshold counts.
 */
export function mayRaiseAlert(rules: AlertRules, log: AlertLog): boolean {
  for (const rule of rules.logRules) {
    if (rule.type === 'threshold' && !matchesLogFilter(rule.scope, log)) continue;
    if (matchesLogFilter(rule.when, log)) return true;
  }
  return false;
}

/** The threshold group key of `log` under `rule` (its window is keyed by rule id and this). */
export function thresholdGroup(rule: ThresholdRule, log: AlertLog): string {
  return keyOf(rule.groupBy, log);
}

/** Evaluates the log rules (match and threshold) against one log (pure: `state` is not changed). */
export function evaluateLog(rules: AlertRules, state: AlertState, log: AlertLog): AlertTransition {
  const alerts: Alert[] = [];
  const next = copyState(state);
  return { state: applyLog(rules, next, log, alerts) ? next : state, alerts };
}

/** Evaluates the trace rules against one (possibly partial) correlation. */
export function evaluateCorrelation(rules: AlertRules, state: AlertState, c: Correlation): AlertTransition {
  const alerts: Alert[] = [];
  const next = copyState(state);
  let changed = false;
  const endMs = c.start_ms + c.duration_ms;
  const source: KeySource = {
    service: c.root_service,
    env: '',
    error_code: c.first_error_code,
    trace_id: c.trace_id,
    workflow_id: '',
    circuit_id: '',
    product_id: '',
    resource_id: '',
    resource_type_id: '',
  };
  for (const rule of rules.traceRules) {
    if (!matchesTraceRule(rule, c)) continue;
    const occurred = occur(
      next,
      {
        rule,
        key: keyOf(rule.dedupBy, source),
        timeMs: endMs,
        service: c.root_service,
        traceId: c.trace_id,
        logIds: c.log_ids,
        context: {
          service: c.root_service,
          root_span: c.root_span_name,
          services: c.services.join(', '),
          trace_id: c.trace_id,
          error_code: c.first_error_code,
          error_message: c.first_error_message,
          error_count: c.error_count,
          span_count: c.span_count,
          duration_ms: c.duration_ms,
        },
        // Updates of a trace already alerted on are the same occurrence; other traces add to the count.
        distinctFrom: (entry) => entry.alert.related_trace_id !== c.trace_id,
        traceStartMs: c.start_ms,
      },
      alerts,
    );
    if (occurred) changed = true;
  }
  changed = advanceWatermark(next, endMs) || changed;
  return { state: changed ? next : state, alerts };
}

/**
 * Closes, in place, the dedup windows that ended at or before `watermarkMs` (default: the state's
 * watermark): alerts whose count grew since they were emitted are appended to `alerts`, to be emitted again
 * with the final count; the entries and threshold buckets that fell out of every window are dropped.
 * @returns whether the state changed
 */
export function applyFlush(
  rules: AlertRules,
  state: AlertState,
  alerts: Alert[],
  watermarkMs = state.watermark_ms,
): boolean {
  let changed = false;
  for (const [id, entry] of Object.entries(state.dedup)) {
    if (entry.window_end_ms > watermarkMs) continue;
    if (entry.alert.count > entry.emitted_count) alerts.push(entry.alert);
    deleteDedupEntry(state.dedup, id);
    changed = true;
  }
  for (const [key, buckets] of Object.entries(state.windows)) {
    const rule = rules.byId.get(key.slice(0, key.indexOf('\u0000')));
    const newest = buckets[buckets.length - 1]?.[0] ?? 0;
    if (rule?.type === 'threshold' && newest + rule.bucketMs > watermarkMs - rule.windowMs) continue;
    delete state.windows[key];
    changed = true;
  }
  return changed;
}

/** What applyFlush does, without changing `state` (the same state object is returned when nothing closed). */
export function flushAlerts(
  rules: AlertRules,
  state: AlertState,
  watermarkMs = state.watermark_ms,
): AlertTransition {
  const alerts: Alert[] = [];
  const next = copyState(state);
  return { state: applyFlush(rules, next, alerts, watermarkMs) ? next : state, alerts };
}
