import { DecodeError } from '../errors';
import { LogContractSchema, looksLikeLogContract, type LogContractRecord } from '../json-log/contract';
import { ExportLogsServiceRequest, ExportTraceServiceRequest } from './proto';
import type { InputFormat, OtlpLogsRequest, OtlpTracesRequest } from './types';
import { zipkinJsonToOtlp, zipkinProtoToOtlp } from './zipkin';

/** Kafka message headers as kafkajs exposes them. */
export type MessageHeaders = Record<string, Buffer | string | (Buffer | string)[] | undefined>;

/**
 * What an input topic holds, as the Collector kafkareceiver's `encoding` (INPUT_ENCODING_LOGS /
 * INPUT_ENCODING_TRACES). `auto` reads otlp_proto and otlp_json (by content-type header, else by the
 * bytes) and, for logs, the seeds' JSON log records; the others are what the kafka exporter writes with
 * that encoding: `raw` (the value as a bytes body), `text` (the value as a UTF-8 string body),
 * `zipkin_proto` / `zipkin_json` (Zipkin v2 spans, see ./zipkin.ts).
 */
export type LogsInputEncoding = 'auto' | 'otlp_proto' | 'otlp_json' | 'raw' | 'text';
export type TracesInputEncoding = 'auto' | 'otlp_proto' | 'otlp_json' | 'zipkin_proto' | 'zipkin_json';

export type DecodedLogs =
  { format: InputFormat; request: OtlpLogsRequest } | { format: 'json_log'; record: LogContractRecord };

export interface DecodedTraces {
  format: InputFormat;
  request: OtlpTracesRequest;
}

interface ProtoDecoder<T> {
  decode(bytes: Uint8Array): T;
}

// The generated classes decode into instances whose shape the structural request types describe.
const LogsRequest: ProtoDecoder<OtlpLogsRequest> = ExportLogsServiceRequest;
const TracesRequest: ProtoDecoder<OtlpTracesRequest> = ExportTraceServiceRequest;

export type WireEncoding = 'protobuf' | 'json';

function headerValue(headers: MessageHeaders | undefined, name: string): string | undefined {
  if (headers === undefined) return undefined;
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() !== name) continue;
    const raw = headers[key];
    const first = Array.isArray(raw) ? raw[0] : raw;
    return first === undefined ? undefined : first.toString();
  }
  return undefined;
}

function isJsonWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}

/** True when the first non-whitespace byte is `{`. */
function sniffJson(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (!isJsonWhitespace(b)) return b === 0x7b;
  }
  return false;
}

/**
 * Encoding of a message: from the `content-type` header when present, else sniffed from the bytes.
 * `declared` tells whether a header decided it (a sniffed guess may be wrong, see decodeWith).
 */
export function detectEncoding(
  value: Uint8Array,
  headers?: MessageHeaders,
): { encoding: WireEncoding; declared: boolean } {
  const contentType = headerValue(headers, 'content-type');
  if (contentType !== undefined) {
    const mime = contentType.split(';')[0]!.trim().toLowerCase();
    if (mime === 'application/x-protobuf' || mime === 'application/protobuf') {
      return { encoding: 'protobuf', declared: true };
    }
    if (mime === 'application/json') return { encoding: 'json', declared: true };
    throw new DecodeError('unsupported_content_type', `unsupported content-type "${contentType}"`);
  }
  return { encoding: sniffJson(value) ? 'json' : 'protobuf', declared: false };
}

function requireBytes(value: Uint8Array | null | undefined): Uint8Array {
  if (value == null || value.length === 0) throw new DecodeError('empty', 'message has no value');
  return value;
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (cause) {
    throw new DecodeError('invalid_json', `invalid JSON: ${(cause as Error).message}`, { cause });
  }
}

function parseJsonObject(bytes: Uint8Array): Record<string, unknown> {
  const parsed = parseJson(bytes);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new DecodeError('invalid_json', 'JSON message is not an object');
  }
  return parsed as Record<string, unknown>;
}

function decodeProto<T>(decoder: ProtoDecoder<T>, bytes: Uint8Array, field: string): T {
  let message: T;
  try {
    message = decoder.decode(bytes);
  } catch (cause) {
    throw new DecodeError('invalid_protobuf', `invalid OTLP protobuf: ${(cause as Error).message}`, {
      cause,
    });
  }
  // A non-empty request whose bytes were all unknown fields is not OTLP (protobufjs skips unknown fields).
  const items = (message as Record<string, unknown>)[field];
  if (!Array.isArray(items) || items.length === 0) {
    throw new DecodeError('invalid_protobuf', `protobuf message has no ${field}; not an OTLP request`);
  }
  return message;
}

/**
 * In auto mode, a protobuf message of another format (a Zipkin ListOfSpans, a Jaeger batch) can decode
 * as an OTLP request whose resources hold nothing: it would vanish without a trace. The Collector never
 * exports an empty request, so such a message is refused (dead-lettered) with that reason.
 */
function requireRecords<T>(request: T, count: (request: T) => number, what: string): T {
  if (count(request) === 0) {
    throw new DecodeError(
      'unknown_format',
      `protobuf message holds no ${what}: not an OTLP export request (a Zipkin or Jaeger protobuf?); set the input encoding if the topic holds another format`,
    );
  }
  return request;
}

const logRecordCount = (request: OtlpLogsRequest) =>
  (request.resourceLogs ?? []).reduce(
    (n, r) => n + (r?.scopeLogs ?? []).reduce((m, s) => m + (s?.logRecords?.length ?? 0), 0),
    0,
  );
const spanCount = (request: OtlpTracesRequest) =>
  (request.resourceSpans ?? []).reduce(
    (n, r) => n + (r?.scopeSpans ?? []).reduce((m, s) => m + (s?.spans?.length ?? 0), 0),
    0,
  );

/**
 * One log record holding the whole message as its body, as the kafkareceiver's raw and text encodings.
 * The message carries no time: the observed time is when Kafka received it (`receivedMs`, the message
 * timestamp), where the Collector takes its clock, so that a replay yields the same record.
 */
function wholeMessageLog(bytes: Uint8Array, encoding: 'raw' | 'text', receivedMs?: number): DecodedLogs {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let body;
  if (encoding === 'raw') body = { bytesValue: buffer.toString('base64') };
  else {
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(buffer);
    } catch (cause) {
      throw new DecodeError('invalid_record', 'message is not UTF-8 text', { cause });
    }
    body = { stringValue: text };
  }
  const observed =
    receivedMs !== undefined && Number.isSafeInteger(receivedMs) && receivedMs >= 0
      ? { observedTimeUnixNano: String(BigInt(receivedMs) * 1_000_000n) }
      : {};
  return {
    format: encoding,
    request: { resourceLogs: [{ scopeLogs: [{ logRecords: [{ body, ...observed }] }] }] },
  };
}

/**
 * Decodes with the detected encoding. When the encoding was only sniffed and JSON parsing fails, the bytes
 * are retried as protobuf: a protobuf request starts with 0x0A (a JSON whitespace byte) and its next byte
 * can be 0x7B (`{`) when the first resource is 123 bytes long.
 */
function decodeWith<T>(
  value: Uint8Array,
  headers: MessageHeaders | undefined,
  fromJson: (json: Record<string, unknown>) => T,
  fromProto: (bytes: Uint8Array) => T,
): T {
  const { encoding, declared } = detectEncoding(value, headers);
  if (encoding === 'protobuf') return fromProto(value);
  if (declared) return fromJson(parseJsonObject(value));
  let json: Record<string, unknown>;
  try {
    json = parseJsonObject(value);
  } catch (jsonError) {
    try {
      return fromProto(value);
    } catch {
      throw jsonError;
    }
  }
  return fromJson(json);
}

function requireArray(json: Record<string, unknown>, field: string): void {
  if (!Array.isArray(json[field]))
    throw new DecodeError('invalid_structure', `OTLP JSON "${field}" must be an array`);
}

function jsonToLogs(json: Record<string, unknown>): DecodedLogs {
  if ('resourceLogs' in json) {
    requireArray(json, 'resourceLogs');
    return { format: 'otlp_json', request: json as OtlpLogsRequest };
  }
  if (!looksLikeLogContract(json)) {
    throw new DecodeError(
      'unknown_format',
      'JSON message is neither OTLP logs (resourceLogs) nor a log record',
    );
  }
  const parsed = LogContractSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new DecodeError('invalid_record', `invalid log record: ${issues}`);
  }
  return { format: 'json_log', record: parsed.data };
}

function jsonToTraces(json: Record<string, unknown>): DecodedTraces {
  if (!('resourceSpans' in json))
    throw new DecodeError('unknown_format', 'JSON message is not OTLP traces (resourceSpans)');
  requireArray(json, 'resourceSpans');
  return { format: 'otlp_json', request: json as OtlpTracesRequest };
}

/**
 * Decodes one `otel-logs` message: an OTLP ExportLogsServiceRequest (otlp_proto or otlp_json, as the
 * Collector's Kafka exporter writes them) or a single JSON record in the seeds' log contract.
 * @throws DecodeError when the message as a whole is unusable (route it to the DLQ).
 */
export function decodeLogsMessage(
  value: Uint8Array | null | undefined,
  headers?: MessageHeaders,
  encoding: LogsInputEncoding = 'auto',
  /** The Kafka timestamp of the message: the observed time of `raw` and `text` records. */
  receivedMs?: number,
): DecodedLogs {
  const bytes = requireBytes(value);
  switch (encoding) {
    case 'raw':
    case 'text':
      return wholeMessageLog(bytes, encoding, receivedMs);
    case 'otlp_proto':
      return { format: 'otlp_proto', request: decodeProto(LogsRequest, bytes, 'resourceLogs') };
    case 'otlp_json': {
      const json = parseJsonObject(bytes);
      if (!('resourceLogs' in json))
        throw new DecodeError('unknown_format', 'JSON message is not OTLP logs (resourceLogs)');
      return jsonToLogs(json);
    }
    case 'auto':
      return decodeWith(bytes, headers, jsonToLogs, (b) => ({
        format: 'otlp_proto',
        request: requireRecords(decodeProto(LogsRequest, b, 'resourceLogs'), logRecordCount, 'log records'),
      }));
  }
}

/**
 * Decodes one `otel-traces` message: an OTLP ExportTraceServiceRequest (otlp_proto or otlp_json).
 * @throws DecodeError when the message as a whole is unusable (route it to the DLQ).
 */
export function decodeTracesMessage(
  value: Uint8Array | null | undefined,
  headers?: MessageHeaders,
  encoding: TracesInputEncoding = 'auto',
): DecodedTraces {
  const bytes = requireBytes(value);
  switch (encoding) {
    case 'zipkin_proto':
      return { format: 'zipkin_proto', request: zipkinProtoToOtlp(bytes) };
    case 'zipkin_json':
      return { format: 'zipkin_json', request: zipkinJsonToOtlp(parseJson(bytes)) };
    case 'otlp_proto':
      return { format: 'otlp_proto', request: decodeProto(TracesRequest, bytes, 'resourceSpans') };
    case 'otlp_json':
      return jsonToTraces(parseJsonObject(bytes));
    case 'auto':
      return decodeWith(bytes, headers, jsonToTraces, (b) => ({
        format: 'otlp_proto',
        request: requireRecords(decodeProto(TracesRequest, b, 'resourceSpans'), spanCount, 'spans'),
      }));
  }
}
