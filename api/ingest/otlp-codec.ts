import protobuf from 'protobufjs';
import { z } from 'zod';
import { BadPayloadError } from '../errors';
// The OpenTelemetry JS exporters' own generated code: request/response types exactly as they encode them.
import generatedRoot from '@opentelemetry/otlp-transformer/build/src/generated/root';

/** What we use of a protobufjs static message class. */
interface MessageClass {
  decode(reader: Uint8Array): object;
  encode(message: object): { finish(): Uint8Array };
}

interface ServicePackage {
  v1: Record<string, MessageClass | undefined>;
}

const collector = (
  generatedRoot as unknown as { opentelemetry: { proto: { collector: Record<string, ServicePackage> } } }
).opentelemetry.proto.collector;

function messageClass(pkg: 'logs' | 'trace', name: string): MessageClass {
  const cls = collector[pkg]?.v1[name];
  if (cls === undefined) throw new Error(`generated OTLP root lacks ${pkg}.v1.${name}`);
  return cls;
}

export type OtlpSignal = 'logs' | 'traces';
export type OtlpContentType = 'application/x-protobuf' | 'application/json';

interface SignalCodec {
  request: MessageClass;
  response: MessageClass;
  /** Field holding the resource entries, and the nested scope/record fields (for counting records). */
  resourceField: 'resourceLogs' | 'resourceSpans';
  scopeField: 'scopeLogs' | 'scopeSpans';
  recordField: 'logRecords' | 'spans';
}

const CODECS: Record<OtlpSignal, SignalCodec> = {
  logs: {
    request: messageClass('logs', 'ExportLogsServiceRequest'),
    response: messageClass('logs', 'ExportLogsServiceResponse'),
    resourceField: 'resourceLogs',
    scopeField: 'scopeLogs',
    recordField: 'logRecords',
  },
  traces: {
    request: messageClass('trace', 'ExportTraceServiceRequest'),
    response: messageClass('trace', 'ExportTraceServiceResponse'),
    resourceField: 'resourceSpans',
    scopeField: 'scopeSpans',
    recordField: 'spans',
  },
};

/** google.rpc.Status, the body of OTLP/HTTP error responses (details omitted: we send none). */
const RpcStatus = new protobuf.Type('Status')
  .add(new protobuf.Field('code', 1, 'int32'))
  .add(new protobuf.Field('message', 2, 'string'));

/** google.rpc.Code values used by OTLP/HTTP error responses. */
export const RpcCode = {
  INVALID_ARGUMENT: 3,
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

const anyList = z.array(z.unknown()).nullish();

/**
 * Checks that `body` decodes as an Export*ServiceRequest and returns how many records it holds. The body
 * itself is what gets produced: the pipeline decodes it again, this only keeps garbage off the topic.
 */
export function validateOtlpRequest(signal: OtlpSignal, contentType: OtlpContentType, body: Buffer): number {
  const codec = CODECS[signal];
  let request: Record<string, unknown>;
  if (contentType === 'application/x-protobuf') {
    try {
      request = codec.request.decode(body) as Record<string, unknown>;
    } catch (error) {
      throw new BadPayloadError(
        `body is not a protobuf ${signal} export request: ${(error as Error).message}`,
      );
    }
  } else {
    try {
      request = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    } catch (error) {
      throw new BadPayloadError(`body is not valid JSON: ${(error as Error).message}`);
    }
    if (typeof request !== 'object' || request === null || Array.isArray(request)) {
      throw new BadPayloadError(`body must be a JSON object with ${codec.resourceField}`);
    }
  }
  return countRecords(codec, request);
}

function countRecords(codec: SignalCodec, request: Record<string, unknown>): number {
  const shape = z.object({
    [codec.resourceField]: z
      .array(
        z.looseObject({
          [codec.scopeField]: z.array(z.looseObject({ [codec.recordField]: anyList })).nullish(),
        }),
      )
      .nullish(),
  });
  const parsed = shape.safeParse(request);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new BadPayloadError(
      `${issue?.path.join('.') ?? codec.resourceField}: ${issue?.message ?? 'invalid structure'}`,
    );
  }
  const resources = (parsed.data[codec.resourceField] ?? []) as Record<string, unknown>[];
  let count = 0;
  for (const resource of resources) {
    for (const scope of (resource[codec.scopeField] ?? []) as Record<string, unknown>[]) {
      count += ((scope[codec.recordField] ?? []) as unknown[]).length;
    }
  }
  return count;
}

/** Successful Export*ServiceResponse (no partial success: a request is accepted whole or not at all). */
export function encodeSuccess(signal: OtlpSignal, contentType: OtlpContentType): Buffer {
  if (contentType === 'application/json') return Buffer.from('{}');
  return Buffer.from(CODECS[signal].response.encode({}).finish());
}

export function encodeStatus(contentType: OtlpContentType, code: number, message: string): Buffer {
  if (contentType === 'application/json') return Buffer.from(JSON.stringify({ code, message }));
  return Buffer.from(RpcStatus.encode(RpcStatus.create({ code, message })).finish());
}
