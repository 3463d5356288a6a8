import { createEnricher, type EnrichConfig } from './enrich';
import type { RecordError } from './errors';
import { normalizeLogs, normalizeOtlpSpans, resolveRecordLimits, type RecordLimits } from './normalize';
import {
  decodeLogsMessage,
  decodeTracesMessage,
  type LogsInputEncoding,
  type MessageHeaders,
  type TracesInputEncoding,
} from './otlp/decode';
import type { LogRecord, SourcePosition, SpanRecord } from './records';
import { createRedactor, type RedactionConfig } from './redact';

export interface RecordPipelineConfig {
  redaction?: RedactionConfig;
  /** Size bounds of a normalized record (RECORD_MAX_*); unset ones take DEFAULT_RECORD_LIMITS. */
  limits?: Partial<RecordLimits>;
  enrichment?: EnrichConfig;
  /** What the input topics hold (INPUT_ENCODING_LOGS / INPUT_ENCODING_TRACES); default auto. */
  inputEncodings?: InputEncodings;
}

export interface InputEncodings {
  logs: LogsInputEncoding;
  traces: TracesInputEncoding;
}

export interface PipelineResult<T> {
  records: T[];
  /** Records of the message that were skipped (the message itself was decodable). */
  errors: RecordError[];
  /** Values replaced by PII redaction over all records (for a counter). */
  redacted: number;
}

export interface RecordPipeline {
  /**
   * One `otel-logs` message → normalized, redacted, enriched LogRecords (ids derive from `position`).
   * @throws DecodeError when the message as a whole is undecodable (send it to the DLQ)
   */
  logs(
    value: Uint8Array | null | undefined,
    headers: MessageHeaders | undefined,
    /** With the message's Kafka `timestamp` when known: the observed time of raw and text records. */
    position: SourcePosition & { timestamp?: number },
  ): PipelineResult<LogRecord>;
  /**
   * One `otel-traces` message → normalized, redacted, enriched SpanRecords.
   * @throws DecodeError when the message as a whole is undecodable (send it to the DLQ)
   */
  spans(
    value: Uint8Array | null | undefined,
    headers: MessageHeaders | undefined,
  ): PipelineResult<SpanRecord>;
}

/**
 * decode → normalize → redact → enrich, composed once from configuration (patterns compiled up front).
 * Redaction runs before enrichment so nothing derived from a secret survives in enrichment fields.
 * @throws PatternConfigError for an invalid redaction or error-code pattern
 * @throws RecordLimitsError for a record size limit out of range
 */
export function createRecordPipeline(config: RecordPipelineConfig = {}): RecordPipeline {
  const limits = resolveRecordLimits(config.limits);
  const redactor = createRedactor(config.redaction);
  const enricher = createEnricher(config.enrichment);
  const encodings = config.inputEncodings ?? { logs: 'auto', traces: 'auto' };
  return {
    logs(value, headers, position) {
      const batch = normalizeLogs(
        decodeLogsMessage(value, headers, encodings.logs, position.timestamp),
        position,
        limits,
      );
      let redacted = 0;
      const records = batch.records.map((record) => {
        const r = redactor.redactLog(record);
        redacted += r.count;
        return enricher.enrichLog(r.record);
      });
      return { records, errors: batch.errors, redacted };
    },
    spans(value, headers) {
      const batch = normalizeOtlpSpans(decodeTracesMessage(value, headers, encodings.traces).request, limits);
      let redacted = 0;
      const records = batch.records.map((span) => {
        const r = redactor.redactSpan(span);
        redacted += r.count;
        return enricher.enrichSpan(r.record);
      });
      return { records, errors: batch.errors, redacted };
    },
  };
}
