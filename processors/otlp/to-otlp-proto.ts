import type { OtlpJsonLogsRequest, OtlpJsonTracesRequest } from './otlp-json-types';
import { ExportLogsServiceRequest, ExportTraceServiceRequest } from './proto';

type Json = Record<string, unknown>;

/** The canonical JSON mapping writes ids as hex; the generated fromObject reads strings as base64. */
function withIdBytes(message: Json, fields: readonly string[]): Json {
  const out: Json = { ...message };
  for (const field of fields) {
    const id = message[field];
    if (typeof id === 'string') out[field] = Buffer.from(id, 'hex');
  }
  return out;
}

function mapList(value: unknown, map: (item: Json) => Json): unknown {
  return Array.isArray(value) ? value.map((item) => map(item as Json)) : value;
}

function mapScopes(resources: unknown, scopesField: string, recordsField: string, map: (r: Json) => Json) {
  return mapList(resources, (resource) => ({
    ...resource,
    [scopesField]: mapList(resource[scopesField], (scope) => ({
      ...scope,
      [recordsField]: mapList(scope[recordsField], map),
    })),
  }));
}

/**
 * A canonical OTLP/JSON logs request (see ./to-otlp-json.ts) as protobuf, the awss3 exporter's
 * `marshaler: otlp_proto`. The generated fromObject reads the JSON mapping's other forms itself (64-bit
 * integers as decimal strings, bytes as base64, `NaN`/`Infinity` doubles).
 */
export function otlpJsonLogsToProto(request: OtlpJsonLogsRequest): Uint8Array {
  const resourceLogs = mapScopes(request.resourceLogs, 'scopeLogs', 'logRecords', (log) =>
    withIdBytes(log, ['traceId', 'spanId']),
  );
  return ExportLogsServiceRequest.encode(ExportLogsServiceRequest.fromObject({ resourceLogs })).finish();
}

/** A canonical OTLP/JSON traces request as protobuf (see otlpJsonLogsToProto). */
export function otlpJsonTracesToProto(request: OtlpJsonTracesRequest): Uint8Array {
  const resourceSpans = mapScopes(request.resourceSpans, 'scopeSpans', 'spans', (span) => ({
    ...withIdBytes(span, ['traceId', 'spanId', 'parentSpanId']),
    links: mapList(span.links, (link) => withIdBytes(link, ['traceId', 'spanId'])),
  }));
  return ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject({ resourceSpans })).finish();
}
