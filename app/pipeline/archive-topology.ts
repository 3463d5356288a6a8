import { logsMessageToOtlpJson, tracesMessageToOtlpJson } from '../../processors/otlp/to-otlp-json';
import type { InputEncodings } from '../../processors/pipeline';
import { redactOtlpJsonLogs, redactOtlpJsonTraces, type Redactor } from '../../processors/redact';
import { bufferSerde, TopologyBuilder, type Sink, type Topology } from '../../topology';
import type { OtlpJsonRequest } from '../../sinks/archive/archive-sink';

export interface ArchiveTopologyOptions {
  topics: { logs: string; traces: string };
  /** The pipeline's redactor: nothing leaves StackLens unredacted, the archive included. */
  redactor: Redactor;
  sinks: { logs: Sink<Buffer | null, OtlpJsonRequest>; traces: Sink<Buffer | null, OtlpJsonRequest> };
  /** The pipeline's INPUT_ENCODING_LOGS / INPUT_ENCODING_TRACES; default auto. */
  inputEncodings?: InputEncodings;
}

/**
 * The archive: every input message as canonical OTLP/JSON, one object per partition and offset
 * range. It runs as its own application (consumer group `${APPLICATION_ID}-archive`) so that it
 * commits, and so writes objects, every ARCHIVE_FLUSH_SECONDS rather than at the pipeline's pace.
 * The archive keeps the input as the Collector sent it, redacted by the same rules as the pipeline
 * (redaction is idempotent, so a replay of the archive yields the same records); a message that
 * cannot be read goes to the archive's own DLQ.
 */
export function buildArchiveTopology(options: ArchiveTopologyOptions): Topology {
  const builder = new TopologyBuilder();
  const raw = { keySerde: bufferSerde(), valueSerde: bufferSerde() };
  builder
    .stream<Buffer | null, Buffer | null>('archive-logs-source', options.topics.logs, raw)
    .mapValues(
      'logs-as-redacted-otlp-json',
      (value, r) =>
        redactOtlpJsonLogs(
          options.redactor,
          logsMessageToOtlpJson(value, r.headers, options.inputEncodings?.logs, r.timestamp),
        ).value as OtlpJsonRequest,
    )
    .toSink('logs-to-archive', options.sinks.logs);
  builder
    .stream<Buffer | null, Buffer | null>('archive-traces-source', options.topics.traces, raw)
    .mapValues(
      'traces-as-redacted-otlp-json',
      (value, r) =>
        redactOtlpJsonTraces(
          options.redactor,
          tracesMessageToOtlpJson(value, r.headers, options.inputEncodings?.traces),
        ).value as OtlpJsonRequest,
    )
    .toSink('traces-to-archive', options.sinks.traces);
  return builder.build();
}
