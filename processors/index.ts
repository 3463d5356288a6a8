/** Public surface of the pure record logic (no I/O). */
export * from './records';
export * from './errors';
export { createRecordPipeline } from './pipeline';
export type { PipelineResult, RecordPipeline, RecordPipelineConfig } from './pipeline';
export { decodeLogsMessage, decodeTracesMessage, detectEncoding } from './otlp/decode';
export type { DecodedLogs, DecodedTraces, MessageHeaders, WireEncoding } from './otlp/decode';
export * from './normalize';
export * from './redact';
export * from './enrich';
export * from './correlate';
export * from './alerts';
export * from './patterns';
export {
  ALERT_SCHEMA,
  alertType,
  ENRICHED_LOG_SCHEMA,
  ENRICHED_SPAN_SCHEMA,
  enrichedLogType,
  enrichedSpanType,
} from './avro/schemas';
export { LogContractSchema, logContractJsonSchema } from './json-log/contract';
export type { LogContractRecord } from './json-log/contract';
export * from './otlp/to-otlp-json';
export type * from './otlp/otlp-json-types';
