import { CorrelationMismatchError } from '../errors';
import { jsonBytes } from '../normalize/limits';
import { SEVERITY } from '../normalize/severity';
import { nanosDiff, nanosToMs } from '../otlp/values';
import {
  MAX_CORRELATION_LOG_IDS,
  MAX_CORRELATION_SERVICE_BYTES,
  MAX_CORRELATION_SERVICES,
  type Correlation,
  type LogLevelCounts,
  type LogRecord,
  type SpanEvent,
  type SpanRecord,
} from '../records';
import { lowerBound } from '../../common/lower-bound';

/**
 * Accumulator for the windowed trace join, in two forms:
 * - `addSpan` / `addLog` / `mergeCorrelations` are pure: they return a new Correlation and never mutate their
 *   inputs (tests, the demo's expected figures);
 * - `foldSpan` / `foldLog` update a correlation in place, at a cost independent of what the trace already
 *   holds (no copy of its log ids or services): the pipeline's trace correlator keeps one correlation per
 *   open trace and folds every record of it in, so a copy per record would make a trace cost O(n²).
 * Both give the same result (the pure functions are the in-place ones applied to a copy). Folding the same
 * records in any order, or merging partial correlations in any order, gives the same result:
 * minima/maxima and sums, ties broken by value, log ids kept as the smallest N.
 *
 * At-least-once input: a log already in `log_ids` is ignored (replays are idempotent while the trace has
 * at most MAX_CORRELATION_LOG_IDS logs); spans carry no dedup state here, so a replayed span would count twice: the pipeline's trace
 * correlator (app/pipeline/trace-correlator.ts) remembers the span ids it folded and skips repeats.
 */

/** The fields of a log that the correlation reads (the pipeline's internal topic carries only these). */
export type CorrelationLog = Pick<
  LogRecord,
  'id' | 'trace_id' | 'time_unix_nano' | 'severity_number' | 'service' | 'body' | 'error_code'
>;

/** The fields of a span event that the correlation reads (only `exception` events are looked at). */
export type CorrelationSpanEvent = Pick<SpanEvent, 'name' | 'time_unix_nano' | 'attributes'>;

/** The fields of a span that the correlation reads (the pipeline's internal topic carries only these). */
export type CorrelationSpan = Pick<
  SpanRecord,
  | 'trace_id'
  | 'span_id'
  | 'parent_span_id'
  | 'name'
  | 'service'
  | 'start_time_unix_nano'
  | 'end_time_unix_nano'
  | 'status_code'
  | 'status_message'
  | 'error_code'
  | 'gen_ai_input_tokens'
  | 'gen_ai_output_tokens'
> & { events: readonly CorrelationSpanEvent[] };

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

export function levelOf(severity: number): keyof LogLevelCounts {
  if (severity <= 0 || severity > 24) return 'unspecified';
  if (severity < SEVERITY.DEBUG) return 'trace';
  if (severity < SEVERITY.INFO) return 'debug';
  if (severity < SEVERITY.WARN) return 'info';
  if (severity < SEVERITY.ERROR) return 'warn';
  if (severity < SEVERITY.FATAL) return 'error';
  return 'fatal';
}

/** A log reduced to what the correlation reads of it: body and error code only matter for an error log. */
export function toCorrelationLog(log: CorrelationLog): CorrelationLog {
  const level = levelOf(log.severity_number);
  const isError = level === 'error' || level === 'fatal';
  return {
    id: log.id,
    trace_id: log.trace_id,
    time_unix_nano: log.time_unix_nano,
    severity_number: log.severity_number,
    service: log.service,
    body: isError ? log.body : '',
    error_code: isError ? log.error_code : '',
  };
}

/**
 * A span reduced to what the correlation reads of it: the name only for a root or an error span, the
 * status message, error code and first exception event (its time and message) only for an error span.
 */
export function toCorrelationSpan(span: CorrelationSpan): CorrelationSpan {
  const isError = span.status_code === 'Error';
  const exception = isError ? span.events.find((e) => e.name === 'exception') : undefined;
  const message = exception?.attributes['exception.message'];
  return {
    trace_id: span.trace_id,
    span_id: span.span_id,
    parent_span_id: span.parent_span_id,
    name: isError || span.parent_span_id === '' ? span.name : '',
    service: span.service,
    start_time_unix_nano: span.start_time_unix_nano,
    end_time_unix_nano: span.end_time_unix_nano,
    status_code: span.status_code,
    status_message: isError ? span.status_message : '',
    error_code: isError ? span.error_code : '',
    gen_ai_input_tokens: span.gen_ai_input_tokens,
    gen_ai_output_tokens: span.gen_ai_output_tokens,
    events:
      exception === undefined
        ? []
        : [
            {
              name: 'exception',
              time_unix_nano: exception.time_unix_nano,
              attributes: message === undefined ? {} : { 'exception.message': message },
            },
          ],
  };
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

function boundedUnion(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])].sort().slice(0, MAX_CORRELATION_SERVICES);
}

/**
 * Adds a service to the sorted, duplicate-free list in place, keeping the MAX_CORRELATION_SERVICES
 * smallest names of at most MAX_CORRELATION_SERVICE_BYTES: a per-name filter and the smallest names of
 * a set do not depend on the order names arrive or lists are merged in.
 */
function addService(services: string[], service: string): void {
  if (service === '' || jsonBytes(service) > MAX_CORRELATION_SERVICE_BYTES) return;
  const at = lowerBound(services, service);
  if (services[at] === service || at >= MAX_CORRELATION_SERVICES) return;
  services.splice(at, 0, service);
  if (services.length > MAX_CORRELATION_SERVICES) services.pop();
}

/** Widens the correlation's time range in place to cover [start, end]; the duration only when it moved. */
function foldTimes(c: Correlation, start: string, end: string): void {
  const s = minNanos(c.start_time_unix_nano, start);
  const e = maxNanos(c.end_time_unix_nano, end);
  if (s === c.start_time_unix_nano && e === c.end_time_unix_nano) return;
  const duration = s === '0' ? '0' : nanosDiff(e, s);
  c.start_time_unix_nano = s;
  c.end_time_unix_nano = e;
  c.duration_ns = duration;
  c.start_ms = nanosToMs(s);
  c.duration_ms = nanosToMs(duration);
}

export interface ErrorCandidate {
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

function foldError(c: Correlation, e: ErrorCandidate): void {
  if (!earlierError(c, e)) return;
  c.first_error_time_unix_nano = e.time;
  c.first_error_message = e.message;
  c.first_error_code = e.code;
}

export function spanError(span: CorrelationSpan): ErrorCandidate {
  const exception = span.events.find((e) => e.name === 'exception');
  return {
    time: exception?.time_unix_nano ?? span.end_time_unix_nano,
    message: span.status_message || exception?.attributes['exception.message'] || span.name,
    code: span.error_code,
  };
}

function requireSameTrace(c: Correlation, traceId: string, what: string): void {
  if (traceId !== c.trace_id) {
    throw new CorrelationMismatchError(
      `cannot add a ${what} of trace '${traceId}' to the correlation of trace ${c.trace_id}`,
    );
  }
}

/** A copy sharing nothing mutable with `c`. */
export function copyCorrelation(c: Correlation): Correlation {
  return { ...c, services: c.services.slice(), log_counts: { ...c.log_counts }, log_ids: c.log_ids.slice() };
}

/**
 * Folds a span into `c` in place; the work does not depend on the size of the trace.
 * @throws CorrelationMismatchError when the span belongs to another trace (`c` is left unchanged)
 */
export function foldSpan(c: Correlation, span: CorrelationSpan): void {
  requireSameTrace(c, span.trace_id, 'span');
  // Decided before the fold changes the root.
  const isRoot = span.parent_span_id === '' && (c.root_span_id === '' || span.span_id < c.root_span_id);
  const isError = span.status_code === 'Error';
  foldTimes(c, span.start_time_unix_nano, span.end_time_unix_nano);
  addService(c.services, span.service);
  c.span_count += 1;
  if (isError) c.error_count += 1;
  c.gen_ai_input_tokens += span.gen_ai_input_tokens;
  c.gen_ai_output_tokens += span.gen_ai_output_tokens;
  c.version += 1;
  if (isRoot) {
    c.root_span_id = span.span_id;
    c.root_span_name = span.name;
    c.root_service = span.service;
  }
  if (isError) foldError(c, spanError(span));
}

/**
 * Folds a log into `c` in place, unless `c` already holds its id; the work does not depend on the size of
 * the trace beyond a binary search and one insertion into the bounded, sorted log id list.
 * @returns false when the log was already folded in (nothing changed)
 * @throws CorrelationMismatchError when the log belongs to another trace (`c` is left unchanged)
 */
export function foldLog(c: Correlation, log: CorrelationLog): boolean {
  requireSameTrace(c, log.trace_id, 'log');
  const at = lowerBound(c.log_ids, log.id);
  if (c.log_ids[at] === log.id) return false;
  // Keep the smallest MAX_CORRELATION_LOG_IDS ids: a full list takes the id only if it is not the largest.
  if (at < MAX_CORRELATION_LOG_IDS) {
    c.log_ids.splice(at, 0, log.id);
    if (c.log_ids.length > MAX_CORRELATION_LOG_IDS) c.log_ids.pop();
  }
  const level = levelOf(log.severity_number);
  const isError = level === 'error' || level === 'fatal';
  foldTimes(c, log.time_unix_nano, log.time_unix_nano);
  addService(c.services, log.service);
  if (isError) c.error_count += 1;
  c.log_count += 1;
  c.log_counts[level] += 1;
  c.log_ids_dropped = c.log_count - c.log_ids.length;
  c.version += 1;
  if (isError) foldError(c, { time: log.time_unix_nano, message: log.body, code: log.error_code });
  return true;
}

/** Folds a span in (pure: `c` is not changed). @throws CorrelationMismatchError when the span belongs to another trace */
export function addSpan(c: Correlation, span: CorrelationSpan): Correlation {
  requireSameTrace(c, span.trace_id, 'span');
  const next = copyCorrelation(c);
  foldSpan(next, span);
  return next;
}

/**
 * Folds a log in (pure: `c` is not changed; a log already held returns `c` itself). Logs without a trace
 * id cannot be correlated. @throws CorrelationMismatchError when the log belongs to another trace
 */
export function addLog(c: Correlation, log: CorrelationLog): Correlation {
  requireSameTrace(c, log.trace_id, 'log');
  if (c.log_ids.includes(log.id)) return c;
  const next = copyCorrelation(c);
  foldLog(next, log);
  return next;
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
  const merged: Correlation = {
    ...a,
    root_span_id: root.root_span_id,
    root_span_name: root.root_span_name,
    root_service: root.root_service,
    services: boundedUnion(a.services, b.services),
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
  foldTimes(merged, b.start_time_unix_nano, b.end_time_unix_nano);
  if (b.first_error_message !== '' || b.first_error_code !== '' || b.first_error_time_unix_nano !== '0') {
    foldError(merged, {
      time: b.first_error_time_unix_nano,
      message: b.first_error_message,
      code: b.first_error_code,
    });
  }
  return merged;
}
