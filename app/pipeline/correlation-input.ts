import type { LogRecord, SpanRecord } from '../../processors/records';

/** What the trace correlator folds: a log or a span, keyed upstream by trace_id. */
export type CorrelationInput = { kind: 'log'; log: LogRecord } | { kind: 'span'; span: SpanRecord };
