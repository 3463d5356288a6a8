import { DecodeError } from '../errors';
import { zipkin } from './generated/zipkin';
import type { OtlpKeyValue, OtlpResourceSpans, OtlpSpan, OtlpTracesRequest } from './types';
import { idToHex, InvalidFieldError } from './values';

/**
 * Zipkin v2 spans (the kafka exporter's `zipkin_json`: a JSON array of spans; `zipkin_proto`: a proto3
 * ListOfSpans, decoded with code generated from openzipkin's zipkin.proto) as an OTLP traces request in
 * the OTLP/JSON mapping, following the Collector's translation (pkg/translator/zipkin/zipkinv2): one
 * resource per local service (`service.name`), a scope per `otel.library.name`, Zipkin kinds to span
 * kinds, `otel.status_code` / `error=true` to the status, the endpoints to net.host.* / net.peer.* /
 * peer.service, annotations to events, microseconds to nanoseconds, 64-bit trace ids left-padded.
 * Not translated: the exporter's encodings of links (`otlp.link.<n>` tags) and of event attributes
 * inside annotation values; those stay tags and event names as they are.
 */

interface ZipkinEndpoint {
  serviceName?: string;
  ipv4?: string;
  ipv6?: string;
  port?: number;
}

interface ZipkinSpan {
  traceId: string;
  id: string;
  parentId?: string;
  name?: string;
  kind?: string;
  /** Microseconds. */
  timestamp?: bigint;
  duration?: bigint;
  localEndpoint?: ZipkinEndpoint;
  remoteEndpoint?: ZipkinEndpoint;
  annotations: { timestamp: bigint; value: string }[];
  tags: Record<string, string>;
}

const KINDS: Readonly<Record<string, number>> = { CLIENT: 3, SERVER: 2, PRODUCER: 4, CONSUMER: 5 };
const STATUS_CODES: Readonly<Record<string, number>> = {
  STATUS_CODE_UNSET: 0,
  STATUS_CODE_OK: 1,
  STATUS_CODE_ERROR: 2,
};
const LIBRARY_NAME = 'otel.library.name';
const LIBRARY_VERSION = 'otel.library.version';

const str = (key: string, value: string): OtlpKeyValue => ({ key, value: { stringValue: value } });
const int = (key: string, value: number): OtlpKeyValue => ({ key, value: { intValue: String(value) } });

function invalid(message: string): never {
  throw new DecodeError('invalid_structure', `Zipkin span ${message}`);
}

function hexId(value: unknown, chars: 16 | 32, what: string): string {
  if (typeof value !== 'string' || !/^[0-9a-fA-F]+$/.test(value) || value.length > chars)
    return invalid(`${what} must be at most ${chars} hex characters`);
  return value.toLowerCase().padStart(chars, '0');
}

function micros(value: unknown, what: string): bigint | undefined {
  if (value == null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    return invalid(`${what} must be a non-negative integer of microseconds`);
  return BigInt(value);
}

function endpointAttributes(endpoint: ZipkinEndpoint | undefined, side: 'host' | 'peer'): OtlpKeyValue[] {
  if (endpoint === undefined) return [];
  const out: OtlpKeyValue[] = [];
  if (side === 'peer' && endpoint.serviceName) out.push(str('peer.service', endpoint.serviceName));
  const ip = endpoint.ipv6 || endpoint.ipv4;
  if (ip) out.push(str(`net.${side}.ip`, ip));
  if (endpoint.port !== undefined && endpoint.port > 0) out.push(int(`net.${side}.port`, endpoint.port));
  return out;
}

function toOtlpSpan(span: ZipkinSpan): OtlpSpan {
  const tags = { ...span.tags };
  const status: { code?: number; message?: string } = {};
  const statusCode = tags['otel.status_code'];
  if (statusCode !== undefined) {
    status.code = STATUS_CODES[statusCode] ?? 0;
    delete tags['otel.status_code'];
    if (tags['otel.status_description'] !== undefined) {
      status.message = tags['otel.status_description'];
      delete tags['otel.status_description'];
    }
  }
  if (tags.error === 'true') {
    status.code = 2;
    delete tags.error;
  }
  let kind = span.kind === undefined ? undefined : KINDS[span.kind];
  if (kind === undefined && tags['span.kind'] !== undefined) {
    if (tags['span.kind'] === 'internal') kind = 1;
    delete tags['span.kind'];
  }
  delete tags[LIBRARY_NAME];
  delete tags[LIBRARY_VERSION];
  const start = span.timestamp ?? 0n;
  const out: OtlpSpan = {
    traceId: span.traceId,
    spanId: span.id,
    name: span.name ?? '',
    kind: kind ?? 0,
    startTimeUnixNano: String(start * 1000n),
    endTimeUnixNano: String((start + (span.duration ?? 0n)) * 1000n),
    attributes: [
      ...Object.entries(tags).map(([key, value]) => str(key, value)),
      ...endpointAttributes(span.localEndpoint, 'host'),
      ...endpointAttributes(span.remoteEndpoint, 'peer'),
    ],
    events: span.annotations.map((a) => ({ timeUnixNano: String(a.timestamp * 1000n), name: a.value })),
    status,
  };
  if (span.parentId !== undefined && span.parentId !== span.id) out.parentSpanId = span.parentId;
  if (span.tags['w3c.tracestate'] !== undefined) out.traceState = span.tags['w3c.tracestate'];
  return out;
}

/** Groups spans by local service, then by instrumentation library, as the Collector does. */
function toRequest(spans: readonly ZipkinSpan[]): OtlpTracesRequest {
  if (spans.length === 0) throw new DecodeError('invalid_structure', 'Zipkin message holds no spans');
  const resources = new Map<string, Map<string, OtlpSpan[]>>();
  for (const span of spans) {
    const service = span.localEndpoint?.serviceName ?? '';
    const library = `${span.tags[LIBRARY_NAME] ?? ''}\u0000${span.tags[LIBRARY_VERSION] ?? ''}`;
    let scopes = resources.get(service);
    if (scopes === undefined) resources.set(service, (scopes = new Map()));
    let list = scopes.get(library);
    if (list === undefined) scopes.set(library, (list = []));
    list.push(toOtlpSpan(span));
  }
  const resourceSpans: OtlpResourceSpans[] = [];
  for (const [service, scopes] of resources) {
    resourceSpans.push({
      resource: { attributes: service === '' ? [] : [str('service.name', service)] },
      scopeSpans: [...scopes].map(([library, list]) => {
        const [name, version] = library.split('\u0000');
        return { scope: { name, version }, spans: list };
      }),
    });
  }
  return { resourceSpans };
}

function jsonEndpoint(value: unknown): ZipkinEndpoint | undefined {
  if (value == null) return undefined;
  if (typeof value !== 'object') return invalid('endpoint must be an object');
  const e = value as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return {
    serviceName: text(e.serviceName),
    ipv4: text(e.ipv4),
    ipv6: text(e.ipv6),
    port: typeof e.port === 'number' ? e.port : undefined,
  };
}

/** `zipkin_json`: a JSON array of Zipkin v2 spans (parsed already). */
export function zipkinJsonToOtlp(document: unknown): OtlpTracesRequest {
  if (!Array.isArray(document))
    throw new DecodeError('invalid_structure', 'Zipkin JSON must be an array of spans');
  return toRequest(
    document.map((value: unknown) => {
      if (value === null || typeof value !== 'object') return invalid('must be an object');
      const s = value as Record<string, unknown>;
      const tags: Record<string, string> = {};
      if (s.tags != null && typeof s.tags === 'object')
        for (const [k, v] of Object.entries(s.tags as Record<string, unknown>)) tags[k] = String(v);
      return {
        traceId: hexId(s.traceId, 32, 'traceId'),
        id: hexId(s.id, 16, 'id'),
        parentId: s.parentId == null ? undefined : hexId(s.parentId, 16, 'parentId'),
        name: typeof s.name === 'string' ? s.name : undefined,
        kind: typeof s.kind === 'string' ? s.kind : undefined,
        timestamp: micros(s.timestamp, 'timestamp'),
        duration: micros(s.duration, 'duration'),
        localEndpoint: jsonEndpoint(s.localEndpoint),
        remoteEndpoint: jsonEndpoint(s.remoteEndpoint),
        annotations: (Array.isArray(s.annotations) ? s.annotations : []).map((a: unknown) => {
          const annotation = (a ?? {}) as Record<string, unknown>;
          return {
            timestamp: micros(annotation.timestamp, 'annotation timestamp') ?? 0n,
            value: String(annotation.value ?? ''),
          };
        }),
        tags,
      };
    }),
  );
}

function protoEndpoint(e: zipkin.proto3.IEndpoint | null | undefined): ZipkinEndpoint | undefined {
  if (e == null) return undefined;
  const ip = (bytes: Uint8Array | null | undefined, size: 4 | 16) => {
    if (bytes == null || bytes.length !== size) return undefined;
    if (size === 4) return Array.from(bytes).join('.');
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
    return groups.join(':');
  };
  return {
    serviceName: e.serviceName ?? undefined,
    ipv4: ip(e.ipv4, 4),
    ipv6: ip(e.ipv6, 16),
    port: e.port ?? undefined,
  };
}

const PROTO_KINDS = ['', 'CLIENT', 'SERVER', 'PRODUCER', 'CONSUMER'];

function longToBigint(value: number | { toString(): string } | null | undefined): bigint | undefined {
  if (value == null) return undefined;
  return BigInt(value.toString());
}

/** `zipkin_proto`: a proto3 ListOfSpans. */
export function zipkinProtoToOtlp(bytes: Uint8Array): OtlpTracesRequest {
  let list: zipkin.proto3.ListOfSpans;
  try {
    list = zipkin.proto3.ListOfSpans.decode(bytes);
  } catch (cause) {
    throw new DecodeError('invalid_protobuf', `invalid Zipkin protobuf: ${(cause as Error).message}`, {
      cause,
    });
  }
  try {
    return toRequest(list.spans.map(fromProtoSpan));
  } catch (error) {
    if (error instanceof InvalidFieldError)
      throw new DecodeError('invalid_structure', `Zipkin span ${error.message}`);
    throw error;
  }
}

function fromProtoSpan(s: zipkin.proto3.ISpan): ZipkinSpan {
  const traceId = idToHex(s.traceId, s.traceId?.length === 8 ? 8 : 16, 'traceId');
  const id = idToHex(s.id, 8, 'id');
  if (traceId === '' || id === '') invalid('has no trace id or span id');
  const parentId = s.parentId != null && s.parentId.length > 0 ? idToHex(s.parentId, 8, 'parentId') : '';
  const timestamp = longToBigint(s.timestamp);
  return {
    traceId: traceId.padStart(32, '0'),
    id,
    parentId: parentId === '' ? undefined : parentId,
    name: s.name || undefined,
    kind: PROTO_KINDS[s.kind ?? 0] || undefined,
    timestamp: timestamp === 0n ? undefined : timestamp,
    duration: longToBigint(s.duration),
    localEndpoint: protoEndpoint(s.localEndpoint),
    remoteEndpoint: protoEndpoint(s.remoteEndpoint),
    annotations: (s.annotations ?? []).map((a) => ({
      timestamp: longToBigint(a.timestamp) ?? 0n,
      value: a.value ?? '',
    })),
    tags: { ...(s.tags ?? {}) },
  };
}
