import { CorrelationMismatchError } from '../errors';
import { SEVERITY } from '../normalize/severity';
import { nanosDiff, nanosToMs } from '../otlp/values';
import {
  MAX_CORRELATION_LOG_IDS,
  type Correlation,
  type LogLevelCounts,
  type LogRecord,
  type SpanRecord,
} from '../records';

/**
 * Pure accumulator for the windowed trace join. Every function returns a new Correlation and never mutates
 * its inputs. Folding the same records in any order, or merging partial correlations in any order, gives
 * the same result: minima/maxima and sums, ties broken by value, log ids kept as the smallest N.
 *
 * At-least-once input: a log already in `log_ids` is ignored (replays are idempotent while the trace has
 * at most MAX_CORRELATION_LOG_IDS logs); spans carry no dedup state here, so a replayed span would count twice: the pipeline's trace
 * correlator (app/pipeline/trace-correlator.ts) remembers the span ids it folded and skips repeats.
 */

/** Compares decimal ns strings (normalized: no leading zeros). */
function compareNanos(a: string, b: string): number {
  return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
}

function minNanos(a: string, b: string): string {
  if (a === '0') return b;
  if (b === '0') return a;
  return compareNanos(a, b) <= 0 ? a : b;
}

function maxNanos(a: string, b: string): string {
  return compareNanos(a, b) >= 0 ? a : b;
}

function emptyLevelCounts(): LogLevelCounts {
  return { unspecified: 0, trace: 0, debug: 0, info: 0, warn: 0, error: 0, fatal: 0 };
}

function levelOf(severity: number): keyof LogLevelCounts {
  if (severity <= 0 || severity > 24) return 'unspecified';
  if (severity < SEVERITY.DEBUG) return 'trace';
  if (severity < SEVERITY.INFO) return 'debug';
  if (severity < SEVERITY.WARN) return 'info';
  if (severity < SEVERITY.ERROR) return 'warn';
  if (severity < SEVERITY.FATAL) return 'error';
  return 'fatal';
}

export function emptyCorrelation(traceId: string): Correlation {
  return {
    trace_id: traceId,
    root_span_id: '',
    root_span_name: '',
    root_service: '',
    services: [],
    start_time_unix_nano: '0',
    end_time_unix_nano: '0',
    duration_ns: '0',
    start_ms: 0,
    duration_ms: 0,
    span_count: 0,
    error_count: 0,
    log_count: 0,
    log_counts: emptyLevelCounts(),
    first_error_message: '',
    first_error_time_unix_nano: '0',
    first_error_code: '',
    gen_ai_input_tokens: 0,
    gen_ai_output_tokens: 0,
    log_ids: [],
    log_ids_dropped: 0,
    version: 0,
  };
}

function withService(services: string[], service: string): string[] {
  if (service === '' || services.includes(service)) return services;
  return [...services, service].sort();
}

function withTimes(c: Correlation, start: string, end: string): Correlation {
  const s = minNanos(c.start_time_unix_nano, start);
  const e = maxNanos(c.end_time_unix_nano, end);
  const duration = s === '0' ? '0' : nanosDiff(e, s);
  return {
    ...c,
    start_time_unix_nano: s,
    end_time_unix_nano: e,
    duration_ns: duration,
    start_ms: nanosToMs(s),
    duration_ms: nanosToMs(duration),
  };
}

interface ErrorCandidate {
  time: string;
  message: string;
  code: string;
}

/** Earlier error wins; equal times are decided by message, then code, so the choice is order-independent. */
function earlierError(c: Correlation, e: ErrorCandidate): boolean {
  if (c.first_error_time_unix_nano === '0' && c.first_error_message === '' && c.first_error_code === '')
    return true;
  const byTime = compareNanos(e.time, c.first_error_time_unix_nano);
  if (byTime !== 0) return byTime < 0;
  if (e.message !== c.first_error_message) return e.message < c.first_error_message;
  return e.code < c.first_error_code;
}

function withError(c: Correlation, e: ErrorCandidate): Correlation {
  return earlierError(c, e)
    ? { ...c, first_error_time_unix_nano: e.time, first_error_message: e.message, first_error_code: e.code }
    : c;
}

function spanError(span: SpanRecord): ErrorCandidate {
  const exception = span.events.find((e) => e.name === 'exception');
  return {
    time: exception?.time_unix_nano ?? span.end_time_unix_nano,
    message: span.status_message || exception?.attributes['exception.message'] || span.name,
    code: span.error_code,
  };
}

function isRootCandidate(c: Correlation, span: SpanRecord): boolean {
  return span.parent_span_id === '' && (c.root_span_id === '' || span.span_id < c.root_span_id);
}

function requireSameTrace(c: Correlation, traceId: string, what: string): void {
  if (traceId !== c.trace_id) {
    throw new CorrelationMismatchError(
      `cannot add a ${what} of trace '${traceId}' to the correlation of trace ${c.trace_id}`,
    );
  }
}

/** Folds a span in. @throws CorrelationMismatchError when the span belongs to another trace */
export function addSpan(c: Correlation, span: SpanRecord): Correlation {
  requireSameTrace(c, span.trace_id, 'span');
  let next: Correlation = withTimes(c, span.start_time_unix_nano, span.end_time_unix_nano);
  const isError = span.status_code === 'Error';
  next = {
    ...next,
    services: withService(c.services, span.service),
    span_count: c.span_count + 1,
    error_count: c.error_count + (isError ? 1 : 0),
    gen_ai_input_tokens: c.gen_ai_input_tokens + span.gen_ai_input_tokens,
    gen_ai_output_tokens: c.gen_ai_output_tokens + span.gen_ai_output_tokens,
    version: c.version + 1,
  };
  if (isRootCandidate(c, span)) {
    next = { ...next, root_span_id: span.span_id, root_span_name: span.name, root_service: span.service };
  }
  return isError ? withError(next, spanError(span)) : next;
}

/** Smallest `limit` of the union of two sorted, duplicate-free id lists. */
function mergeIds(a: readonly string[], b: readonly string[], limit: number): string[] {
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (out.length < limit && (i < a.length || j < b.length)) {
    const x = a[i];
    const y = b[j];
    if (y === undefined || (x !== undefined && x < y)) {
      out.push(x!);
      i++;
    } else if (x === undefined || y < x) {
      out.push(y);
      j++;
    } else {
      out.push(x);
      i++;
      j++;
    }
  }
  return out;
}

/** Folds a log in (logs without a trace id cannot be correlated). @throws CorrelationMismatchError when the log belongs to another trace */
export function addLog(c: Correlation, log: LogRecord): Correlation {
  requireSameTrace(c, log.trace_id, 'log');
  if (c.log_ids.includes(log.id)) return c;
  const level = levelOf(log.severity_number);
  const isError = level === 'error' || level === 'fatal';
  const logIds = mergeIds(c.log_ids, [log.id], MAX_CORRELATION_LOG_IDS);
  const logCount = c.log_count + 1;
  const next: Correlation = {
    ...withTimes(c, log.time_unix_nano, log.time_unix_nano),
    services: withService(c.services, log.service),
    error_count: c.error_count + (isError ? 1 : 0),
    log_count: logCount,
    log_counts: { ...c.log_counts, [level]: c.log_counts[level] + 1 },
    log_ids: logIds,
    log_ids_dropped: logCount - logIds.length,
    version: c.version + 1,
  };
  return isError
    ? withError(next, { time: log.time_unix_nano, message: log.body, code: log.error_code })
    : next;
}

/**
 * Combines two partial correlations of the same trace (e.g. from two window segments or partitions).
 * Commutative and associative. @throws CorrelationMismatchError when the trace ids differ
 */
export function mergeCorrelations(a: Correlation, b: Correlation): Correlation {
  if (a.trace_id !== b.trace_id) {
    throw new CorrelationMismatchError(`cannot merge correlations of traces ${a.trace_id} and ${b.trace_id}`);
  }
  const root = b.root_span_id !== '' && (a.root_span_id === '' || b.root_span_id < a.root_span_id) ? b : a;
  const logCounts = emptyLevelCounts();
  for (const key of Object.keys(logCounts) as (keyof LogLevelCounts)[])
    logCounts[key] = a.log_counts[key] + b.log_counts[key];
  const logIds = mergeIds(a.log_ids, b.log_ids, MAX_CORRELATION_LOG_IDS);
  const logCount = a.log_count + b.log_count;
  let merged: Correlation = {
    ...withTimes(a, b.start_time_unix_nano, b.end_time_unix_nano),
    root_span_id: root.root_span_id,
    root_span_name: root.root_span_name,
    root_service: root.root_service,
    services: [...new Set([...a.services, ...b.services])].sort(),
    span_count: a.span_count + b.span_count,
    error_count: a.error_count + b.error_count,
    log_count: logCount,
    log_counts: logCounts,
    gen_ai_input_tokens: a.gen_ai_input_tokens + b.gen_ai_input_tokens,
    gen_ai_output_tokens: a.gen_ai_output_tokens + b.gen_ai_output_tokens,
    log_ids: logIds,
    log_ids_dropped: logCount - logIds.length,
    version: a.version + b.version,
  };
  if (b.first_error_message !== '' || b.first_error_code !== '' || b.first_error_time_unix_nano !== '0') {
    merged = withError(merged, {
      time: b.first_error_time_unix_nano,
      message: b.first_error_message,
      code: b.first_error_code,
    });
  }
  return merged;
}
