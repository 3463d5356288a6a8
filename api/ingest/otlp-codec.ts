import protobuf from 'protobufjs';
import { type ElementLimits } from './limits';
import { encodeJsonChunk, JSON_FRAMING, scanJsonRequest } from './otlp-json';
import { encodeProtoChunk, PROTO_FRAMING, scanProtoRequest } from './otlp-proto';
import { Rejections, splitRequest } from './otlp-request';
import { ExportLogsServiceResponse, ExportTraceServiceResponse } from '../../processors/otlp/proto';

export type OtlpSignal = 'logs' | 'traces';
export type OtlpContentType = 'application/x-protobuf' | 'application/json';

/** What we use of a generated response class. */
interface MessageClass {
  encode(message: object): { finish(): Uint8Array };
}

const RESPONSES: Record<OtlpSignal, MessageClass> = {
  logs: ExportLogsServiceResponse,
  traces: ExportTraceServiceResponse,
};

/** google.rpc.Status, the body of OTLP/HTTP error responses (details omitted: we send none). */
const RpcStatus = new protobuf.Type('Status')
  .add(new protobuf.Field('code', 1, 'int32'))
  .add(new protobuf.Field('message', 2, 'string'));

/** google.rpc.Code values used by OTLP/HTTP error responses. */
export const RpcCode = {
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  RESOURCE_EXHAUSTED: 8,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** Media type of an OTLP request, or undefined when it is neither protobuf nor JSON. */
export function otlpContentType(header: string | undefined): OtlpContentType | undefined {
  const type = (header ?? '').split(';')[0]?.trim().toLowerCase();
  if (type === 'application/x-protobuf' || type === 'application/protobuf') return 'application/x-protobuf';
  if (type === 'application/json') return 'application/json';
  return undefined;
}

export interface PreparedRequest {
  /** The accepted records as Export*ServiceRequests in the request's encoding, each within the message limit. */
  messages: Buffer[];
  accepted: number;
  rejections: Rejections;
}

export interface OtlpLimits extends ElementLimits {
  /** Largest Kafka message produced (INGEST_MAX_MESSAGE_BYTES). */
  maxMessageBytes: number;
}

/**
 * Reads an Export{Logs,Trace}ServiceRequest within `limits` and cuts the records the API accepts into
 * Kafka messages of at most `maxMessageBytes`, split by resource, scope and record. Records the API can
 * tell are invalid (ids of the wrong length, timestamps that are not uint64, a malformed encoding inside
 * the record, too large to fit a message) are left out and counted in `rejections`.
 * @throws PayloadTooLargeError past INGEST_MAX_ITEMS or MAX_ANY_VALUE_DEPTH (checked before decoding)
 * @throws BadPayloadError when the request's envelope does not decode
 */
export function prepareOtlpRequest(
  signal: OtlpSignal,
  contentType: OtlpContentType,
  body: Buffer,
  limits: OtlpLimits,
): PreparedRequest {
  const rejections = new Rejections();
  const accepted = (chunks: { scopes: { records: unknown[] }[] }[][]) =>
    chunks.reduce(
      (n, chunk) => n + chunk.reduce((m, r) => m + r.scopes.reduce((k, s) => k + s.records.length, 0), 0),
      0,
    );
  if (contentType === 'application/x-protobuf') {
    const resources = scanProtoRequest(signal, body, limits, rejections);
    const chunks = splitRequest(resources, PROTO_FRAMING, limits.maxMessageBytes, rejections);
    return {
      messages: chunks.map((chunk) => encodeProtoChunk(body, chunk)),
      accepted: accepted(chunks),
      rejections,
    };
  }
  const resources = scanJsonRequest(signal, body, limits, rejections);
  const chunks = splitRequest(resources, JSON_FRAMING, limits.maxMessageBytes, rejections);
  return {
    messages: chunks.map((chunk) => encodeJsonChunk(signal, chunk)),
    accepted: accepted(chunks),
    rejections,
  };
}

/** What OTLP calls the records of a signal in partial_success (`rejected_log_records`, `rejected_spans`). */
export function recordNoun(signal: OtlpSignal): string {
  return signal === 'logs' ? 'log records' : 'spans';
}

/**
 * Export*ServiceResponse: empty when every record was accepted, else partial_success with the count of
 * rejected records and why (the client must not retry them: retrying cannot fix them).
 */
export function encodeSuccess(
  signal: OtlpSignal,
  contentType: OtlpContentType,
  rejections?: Rejections,
): Buffer {
  const partialSuccess =
    rejections === undefined || rejections.count === 0
      ? undefined
      : {
          [signal === 'logs' ? 'rejectedLogRecords' : 'rejectedSpans']: rejections.count,
          errorMessage: rejections.message(recordNoun(signal)),
        };
  if (contentType === 'application/json') {
    // OTLP/JSON writes 64-bit integers as decimal strings.
    const json =
      partialSuccess === undefined
        ? {}
        : {
            partialSuccess: Object.fromEntries(
              Object.entries(partialSuccess).map(([k, v]) => [k, typeof v === 'number' ? String(v) : v]),
            ),
          };
    return Buffer.from(JSON.stringify(json));
  }
  return Buffer.from(
    RESPONSES[signal].encode(partialSuccess === undefined ? {} : { partialSuccess }).finish(),
  );
}

export function encodeStatus(contentType: OtlpContentType, code: number, message: string): Buffer {
  if (contentType === 'application/json') return Buffer.from(JSON.stringify({ code, message }));
  return Buffer.from(RpcStatus.encode(RpcStatus.create({ code, message })).finish());
}
