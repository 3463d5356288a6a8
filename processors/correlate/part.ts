import { jsonBytes } from '../normalize/limits';
import { MAX_CORRELATION_SERVICE_BYTES, type LogLevelCounts } from '../records';
import { levelOf, spanError, type CorrelationLog, type CorrelationSpan } from './correlation';

/**
 * What one log or span adds to its trace's correlation: the unit in which correlations are stored.
 *
 * A correlation kept as one row per trace, replaced by a higher version, loses whatever a late record
 * adds once the trace's state is gone (the late record starts a new, smaller correlation). Stored as
 * one part per record, identified by (trace, kind, record id), a correlation is the merge of its parts
 * at query time (the same rules as foldSpan/foldLog: sums, minima, maxima, the smallest ids), so
 * - a late record adds its part whenever it comes, whatever the correlator still holds;
 * - a record processed twice (a replay, an at-least-once retry, a client re-sending a span) gives the
 *   same part again, which the table collapses: nothing is counted twice.
 */
export interface CorrelationPart {
  trace_id: string;
  kind: 'span' | 'log';
  /** The log's record id, or the span's id: unique within the trace and kind. */
  record_id: string;
  start_time_unix_nano: string;
  end_time_unix_nano: string;
  service: string;
  /** Whether `service` goes into the correlation's service list (non-empty, within MAX_CORRELATION_SERVICE_BYTES). */
  service_listed: boolean;
  /** A span without a parent: of those, the smallest span id is the trace's root. */
  is_root: boolean;
  /** The span's name when it is a root ('' otherwise). */
  root_span_name: string;
  /** The log's level ('' for a span). */
  level: keyof LogLevelCounts | '';
  is_error: boolean;
  /** The error's time, message and code ('0', '', '' when not an error). */
  error_time_unix_nano: string;
  error_message: string;
  error_code: string;
  gen_ai_input_tokens: number;
  gen_ai_output_tokens: number;
}

function listed(service: string): boolean {
  return service !== '' && jsonBytes(service) <= MAX_CORRELATION_SERVICE_BYTES;
}

/** A log's part (the log as reduced by toCorrelationLog or in full: the same part). */
export function logPart(log: CorrelationLog): CorrelationPart {
  const level = levelOf(log.severity_number);
  const isError = level === 'error' || level === 'fatal';
  return {
    trace_id: log.trace_id,
    kind: 'log',
    record_id: log.id,
    start_time_unix_nano: log.time_unix_nano,
    end_time_unix_nano: log.time_unix_nano,
    service: log.service,
    service_listed: listed(log.service),
    is_root: false,
    root_span_name: '',
    level,
    is_error: isError,
    error_time_unix_nano: isError ? log.time_unix_nano : '0',
    error_message: isError ? log.body : '',
    error_code: isError ? log.error_code : '',
    gen_ai_input_tokens: 0,
    gen_ai_output_tokens: 0,
  };
}

/** A span's part (the span as reduced by toCorrelationSpan or in full: the same part). */
export function spanPart(span: CorrelationSpan): CorrelationPart {
  const isError = span.status_code === 'Error';
  const isRoot = span.parent_span_id === '';
  const error = isError ? spanError(span) : { time: '0', message: '', code: '' };
  return {
    trace_id: span.trace_id,
    kind: 'span',
    record_id: span.span_id,
    start_time_unix_nano: span.start_time_unix_nano,
    end_time_unix_nano: span.end_time_unix_nano,
    service: span.service,
    service_listed: listed(span.service),
    is_root: isRoot,
    root_span_name: isRoot ? span.name : '',
    level: '',
    is_error: isError,
    error_time_unix_nano: error.time,
    error_message: error.message,
    error_code: error.code,
    gen_ai_input_tokens: span.gen_ai_input_tokens,
    gen_ai_output_tokens: span.gen_ai_output_tokens,
  };
}
