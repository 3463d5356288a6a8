import { DecodeError } from '../errors';
import { LogContractSchema, looksLikeLogContract, type LogContractRecord } from '../json-log/contract';
import { ExportLogsServiceRequest, ExportTraceServiceRequest } from './proto';
import type { OtlpEncoding, OtlpLogsRequest, OtlpTracesRequest } from './types';

/** Kafka message headers as kafkajs exposes them. */
export type MessageHeaders = Record<string, Buffer | string | (Buffer | string)[] | undefined>;

export type DecodedLogs =
  { format: OtlpEncoding; request: OtlpLogsRequest } | { format: 'json_log'; record: LogContractRecord };

export interface DecodedTraces {
  format: OtlpEncoding;
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

function parseJsonObject(bytes: Uint8Array): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (cause) {
    throw new DecodeError('invalid_json', `invalid JSON: ${(cause as Error).message}`, { cause });
  }
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
): DecodedLogs {
  return decodeWith(requireBytes(value), headers, jsonToLogs, (bytes) => ({
    format: 'otlp_proto',
    request: decodeProto(LogsRequest, bytes, 'resourceLogs'),
  }));
}

/**
 * Decodes one `otel-traces` message: an OTLP ExportTraceServiceRequest (otlp_proto or otlp_json).
 * @throws DecodeError when the message as a whole is unusable (route it to the DLQ).
 */
export function decodeTracesMessage(
  value: Uint8Array | null | undefined,
  headers?: MessageHeaders,
): DecodedTraces {
  return decodeWith(requireBytes(value), headers, jsonToTraces, (bytes) => ({
    format: 'otlp_proto',
    request: decodeProto(TracesRequest, bytes, 'resourceSpans'),
  }));
}
