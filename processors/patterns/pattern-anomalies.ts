import { alertId } from '../alerts/engine';
import { PatternConfigError } from '../errors';
import type { Alert } from '../records';

/**
 * Anomalies of mined log patterns, per service and pattern (pure: the caller owns the state and the
 * clock, which is event time):
 *
 * - **new pattern**: a line at ERROR or above creates a pattern once the service is past its warm-up
 *   (a service's first buckets create every pattern it has; they are its baseline, not news).
 *   Confidence: how unlike the line is to the closest pattern it was compared with, 1 − similarity.
 * - **rate band**: each pattern's count per bucket (a minute by default) feeds an exponentially
 *   weighted mean and variance (EWMA, Roberts 1959; West's incremental variance). Once the pattern has
 *   `warmupBuckets` buckets, a bucket whose count leaves mean ± `deviations`·σ is an anomaly, where
 *   σ = max(EW standard deviation, √mean, 1) so that a steady or rare pattern (variance near 0) is
 *   judged against Poisson noise rather than alerting on +1. A spike is raised as soon as the open
 *   bucket's count crosses the upper bound (once per bucket), a drop when a bucket closes below the
 *   lower one. Confidence: 1 − 1/z² with z = |count − mean| / σ, Chebyshev's bound on how likely a
 *   deviation of z σ is under any distribution with that mean and variance.
 */
export interface PatternAnomalySettings {
  /** Bucket width in ms (60 000: counts per minute). */
  bucketMs: number;
  /** EWMA weight of the newest bucket, 0 < alpha ≤ 1. */
  alpha: number;
  /** Width of the band in σ. */
  deviations: number;
  /** Buckets a pattern (and a service, for new patterns) must have seen before it can be anomalous. */
  warmupBuckets: number;
}

export const DEFAULT_PATTERN_ANOMALY_SETTINGS: PatternAnomalySettings = {
  bucketMs: 60_000,
  alpha: 0.2,
  deviations: 4,
  warmupBuckets: 5,
};

/** OpenTelemetry SeverityNumber of ERROR. */
export const ERROR_SEVERITY = 17;

export const NEW_PATTERN_RULE = 'log-pattern-new';
export const PATTERN_RATE_RULE = 'log-pattern-rate';
const CREATED_BY = 'stacklens-patterns';

/** A pattern's per-bucket statistics; plain JSON for a state store. */
export interface PatternStats {
  service: string;
  patternId: number;
  template: string;
  firstSeenMs: number;
  /** Start of the open bucket. */
  bucketStartMs: number;
  /** Lines of the open bucket. */
  count: number;
  /** Closed buckets the band has learned from. */
  buckets: number;
  mean: number;
  variance: number;
  /** The open bucket already raised its spike alert. */
  spiked: boolean;
  /** A line of the open bucket, cited by its alerts. */
  sampleRecordId: string;
  sampleTraceId: string;
}

/** One closed bucket of a pattern: a row of stacklens_log_patterns. */
export interface PatternBucket {
  service: string;
  pattern_id: number;
  template: string;
  first_seen_ms: number;
  bucket_start_ms: number;
  bucket_ms: number;
  count: number;
}

/** The pattern a log line belongs to: a row of stacklens_log_pattern_refs. */
export interface PatternRef {
  record_id: string;
  service: string;
  pattern_id: number;
  time_ms: number;
}

/** The line being counted. */
export interface PatternLine {
  id: string;
  time_ms: number;
  trace_id: string;
}

/** What the pattern miner reads of a log. */
export interface PatternLog extends PatternLine {
  service: string;
  severity_number: number;
  body: string;
}

/** A log reduced to what the miner reads, the body cut at `maxBodyChars`. */
export function patternLogProjection(maxBodyChars: number): (log: PatternLog) => PatternLog {
  return (log) => ({
    id: log.id,
    time_ms: log.time_ms,
    trace_id: log.trace_id,
    service: log.service,
    severity_number: log.severity_number,
    body: log.body.length > maxBodyChars ? log.body.slice(0, maxBodyChars) : log.body,
  });
}

export function validatePatternAnomalySettings(s: PatternAnomalySettings): void {
  const problems: string[] = [];
  if (!Number.isInteger(s.bucketMs) || s.bucketMs < 1_000) problems.push('bucketMs must be ≥ 1000');
  if (!(s.alpha > 0 && s.alpha <= 1)) problems.push('alpha must be within (0, 1]');
  if (!(s.deviations > 0)) problems.push('deviations must be > 0');
  if (!Number.isInteger(s.warmupBuckets) || s.warmupBuckets < 1) problems.push('warmupBuckets must be ≥ 1');
  if (problems.length > 0) throw new PatternConfigError(`pattern anomaly settings: ${problems.join('; ')}`);
}

export function bucketStart(timeMs: number, bucketMs: number): number {
  return Math.floor(timeMs / bucketMs) * bucketMs;
}

export function newPatternStats(
  service: string,
  patternId: number,
  template: string,
  line: PatternLine,
  bucketMs: number,
): PatternStats {
  return {
    service,
    patternId,
    template,
    firstSeenMs: line.time_ms,
    bucketStartMs: bucketStart(line.time_ms, bucketMs),
    count: 0,
    buckets: 0,
    mean: 0,
    variance: 0,
    spiked: false,
    sampleRecordId: line.id,
    sampleTraceId: line.trace_id,
  };
}

/** σ of the band: the EW deviation, floored by Poisson noise and by 1. */
function sigma(stats: PatternStats): number {
  return Math.max(Math.sqrt(stats.variance), Math.sqrt(stats.mean), 1);
}

function chebyshevConfidence(z: number): number {
  return Math.min(0.999, Math.max(0, 1 - 1 / (z * z)));
}

/**
 * Closes the buckets of `stats` that end at or before `untilMs` (state changed in place), pushing the
 * closed non-empty buckets and any drop alert. Empty buckets between teach the band zeros; after
 * 4 × `warmupBuckets` of silence the pattern learns its band afresh, so no more are replayed one by one.
 * @returns whether anything changed
 */
export function closeBuckets(
  settings: PatternAnomalySettings,
  stats: PatternStats,
  untilMs: number,
  out: { buckets: PatternBucket[]; alerts: Alert[] },
): boolean {
  const { bucketMs } = settings;
  if (stats.bucketStartMs + bucketMs > untilMs) return false;
  let first = true;
  let replayed = 0;
  while (stats.bucketStartMs + bucketMs <= untilMs) {
    if (first && stats.count > 0) {
      out.buckets.push({
        service: stats.service,
        pattern_id: stats.patternId,
        template: stats.template,
        first_seen_ms: stats.firstSeenMs,
        bucket_start_ms: stats.bucketStartMs,
        bucket_ms: bucketMs,
        count: stats.count,
      });
    }
    if (stats.buckets >= settings.warmupBuckets && !stats.spiked) {
      const s = sigma(stats);
      const lower = stats.mean - settings.deviations * s;
      if (lower > 0 && stats.count < lower) out.alerts.push(rateAlert(settings, stats, 'drop', s));
    }
    learn(settings, stats, stats.count);
    stats.bucketStartMs += bucketMs;
    stats.count = 0;
    stats.spiked = false;
    first = false;
    if (++replayed > settings.warmupBuckets * 4 && stats.bucketStartMs + bucketMs <= untilMs) {
      // A long silence: the pattern learns its band afresh from the bucket containing untilMs.
      stats.bucketStartMs = bucketStart(untilMs, bucketMs);
      stats.buckets = 0;
      stats.mean = 0;
      stats.variance = 0;
    }
  }
  return true;
}

function learn(settings: PatternAnomalySettings, stats: PatternStats, count: number): void {
  if (stats.buckets === 0) {
    stats.mean = count;
    stats.variance = 0;
  } else {
    const diff = count - stats.mean;
    const increment = settings.alpha * diff;
    stats.mean += increment;
    stats.variance = (1 - settings.alpha) * (stats.variance + diff * increment);
  }
  stats.buckets++;
}

/**
 * Counts one line of the pattern (state changed in place): closes the buckets before it, then raises
 * a spike alert the first time the open bucket's count crosses the band.
 */
export function countLine(
  settings: PatternAnomalySettings,
  stats: PatternStats,
  line: PatternLine,
  out: { buckets: PatternBucket[]; alerts: Alert[] },
): void {
  // A late line (before the open bucket) counts in the open bucket: closed buckets are final.
  if (line.time_ms >= stats.bucketStartMs + settings.bucketMs) {
    closeBuckets(settings, stats, bucketStart(line.time_ms, settings.bucketMs), out);
  }
  if (stats.count === 0) {
    stats.sampleRecordId = line.id;
    stats.sampleTraceId = line.trace_id;
  }
  stats.count++;
  if (stats.spiked || stats.buckets < settings.warmupBuckets) return;
  const s = sigma(stats);
  if (stats.count > stats.mean + settings.deviations * s) {
    stats.spiked = true;
    out.alerts.push(rateAlert(settings, stats, 'spike', s));
  }
}

function rateAlert(
  settings: PatternAnomalySettings,
  stats: PatternStats,
  direction: 'spike' | 'drop',
  s: number,
): Alert {
  const z = Math.abs(stats.count - stats.mean) / s;
  const perBucket = settings.bucketMs === 60_000 ? 'per minute' : `per ${settings.bucketMs / 1000} s`;
  const expected = `${stats.mean.toFixed(1)} ± ${(settings.deviations * s).toFixed(1)}`;
  return {
    id: alertId(
      PATTERN_RATE_RULE,
      `${stats.service}\u0000${stats.patternId}\u0000${direction}`,
      stats.bucketStartMs,
    ),
    issue_code: direction === 'spike' ? 'LOG_PATTERN_SPIKE' : 'LOG_PATTERN_DROP',
    severity: 'warn',
    message:
      direction === 'spike'
        ? `${stats.service}: log pattern #${stats.patternId} "${stats.template}" rose to ${stats.count} ${perBucket} (learned band ${expected})`
        : `${stats.service}: log pattern #${stats.patternId} "${stats.template}" fell to ${stats.count} ${perBucket} (learned band ${expected})`,
    suggested_fix:
      direction === 'spike'
        ? 'Look at what changed when the rate rose (deploys, upstream errors, traffic); the cited log is one of the lines.'
        : 'Check whether the component that writes this line stopped, lost traffic or changed its logging.',
    confidence: chebyshevConfidence(z),
    automation_possible: false,
    automation_action: null,
    related_trace_id: stats.sampleTraceId === '' ? null : stats.sampleTraceId,
    related_logs: [stats.sampleRecordId],
    created_at: new Date(Math.max(stats.bucketStartMs, 0)).toISOString(),
    created_by: CREATED_BY,
    rule_id: PATTERN_RATE_RULE,
    service: stats.service,
    count: stats.count,
    window_start: new Date(Math.max(stats.bucketStartMs, 0)).toISOString(),
  };
}

/** The alert for a new pattern first seen at ERROR or above, `similarity` as Drain reported it. */
export function newPatternAlert(stats: PatternStats, line: PatternLine, similarity: number): Alert {
  const at = new Date(Math.max(line.time_ms, 0)).toISOString();
  return {
    id: alertId(NEW_PATTERN_RULE, `${stats.service}\u0000${stats.patternId}`, stats.firstSeenMs),
    issue_code: 'NEW_ERROR_LOG_PATTERN',
    severity: 'error',
    message: `${stats.service}: new error log pattern #${stats.patternId} "${stats.template}"`,
    suggested_fix:
      'A kind of error this service had not logged before: check the cited trace and what changed (a deploy, a dependency).',
    confidence: Math.min(1, Math.max(0, 1 - similarity)),
    automation_possible: false,
    automation_action: null,
    related_trace_id: line.trace_id === '' ? null : line.trace_id,
    related_logs: [line.id],
    created_at: at,
    created_by: CREATED_BY,
    rule_id: NEW_PATTERN_RULE,
    service: stats.service,
    count: 1,
    window_start: at,
  };
}
