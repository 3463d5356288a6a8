import type { CorrelationLog, CorrelationSpan } from '../../processors/correlate';

/**
 * What the trace correlator folds: a log or a span, keyed upstream by trace_id. Only the fields the
 * correlation reads travel (see internal-serdes.ts); a full LogRecord or SpanRecord fits as well.
 */
export type CorrelationInput = { kind: 'log'; log: CorrelationLog } | { kind: 'span'; span: CorrelationSpan };
