import protobuf from 'protobufjs';
import * as generatedRoot from '../../processors/otlp/proto';
import { BadPayloadError, PayloadTooLargeError } from '../errors';
import { MAX_ANY_VALUE_DEPTH } from './limits';
import {
  RpcCode,
  encodeStatus,
  encodeSuccess,
  otlpContentType,
  prepareOtlpRequest,
  type OtlpLimits,
} from './otlp-codec';
import { Rejections } from './otlp-request';

type Cls = {
  encode(m: object): { finish(): Uint8Array };
  decode(b: Uint8Array): object;
  fromObject(o: object): object;
  toObject(m: object, o?: object): Record<string, unknown>;
};
const collector = (
  generatedRoot as unknown as {
    opentelemetry: {
      proto: { collector: { logs: { v1: Record<string, Cls> }; trace: { v1: Record<string, Cls> } } };
    };
  }
).opentelemetry.proto.collector;
const LogsRequest = collector.logs.v1.ExportLogsServiceRequest!;
const TraceRequest = collector.trace.v1.ExportTraceServiceRequest!;
const LogsResponse = collector.logs.v1.ExportLogsServiceResponse!;

const limits: OtlpLimits = { maxItems: 10_000, maxMessageBytes: 1_000_000 };
const proto = (cls: Cls, request: object) => Buffer.from(cls.encode(cls.fromObject(request)).finish());
const decodeLogs = (bytes: Buffer) =>
  LogsRequest.toObject(LogsRequest.decode(bytes), { bytes: String }) as {
    resourceLogs: {
      resource?: { attributes: { key: string }[] };
      scopeLogs: { scope?: { name: string }; logRecords: { body: { stringValue: string } }[] }[];
    }[];
  };

const record = (body: string, extra: object = {}) => ({ body: { stringValue: body }, ...extra });
const logsRequest = (records: unknown[]) => ({
  resourceLogs: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
      scopeLogs: [{ scope: { name: 'scope-a' }, logRecords: records }],
    },
  ],
});

/** An AnyValue nested `depth` levels deep through key-value lists. */
function nested(depth: number): object {
  let value: object = { stringValue: 'leaf' };
  for (let i = 1; i < depth; i++) value = { kvlistValue: { values: [{ key: `k${i}`, value }] } };
  return value;
}

describe('prepareOtlpRequest', () => {
  it('produces a protobuf request as one message when it fits, with the same records', () => {
    const body = proto(LogsRequest, logsRequest([record('a'), record('b')]));
    const prepared = prepareOtlpRequest('logs', 'application/x-protobuf', body, limits);
    expect(prepared.accepted).toBe(2);
    expect(prepared.rejections.count).toBe(0);
    expect(prepared.messages).toHaveLength(1);
    expect(prepared.messages[0]!.equals(body)).toBe(true);
  });

  it('splits a request over the message limit by record, repeating resource and scope in each part', () => {
    const records = Array.from({ length: 50 }, (_, i) => record(`${i}`.padEnd(100, 'x')));
    const maxMessageBytes = 1_000;
    for (const contentType of ['application/x-protobuf', 'application/json'] as const) {
      const request = logsRequest(records);
      const body =
        contentType === 'application/json'
          ? Buffer.from(JSON.stringify(request))
          : proto(LogsRequest, request);
      const prepared = prepareOtlpRequest('logs', contentType, body, { ...limits, maxMessageBytes });
      expect(prepared.accepted).toBe(50);
      expect(prepared.messages.length).toBeGreaterThan(5);
      const parts = prepared.messages.map((m) =>
        contentType === 'application/json'
          ? (JSON.parse(m.toString()) as ReturnType<typeof decodeLogs>)
          : decodeLogs(m),
      );
      for (const m of prepared.messages) expect(m.length).toBeLessThanOrEqual(maxMessageBytes);
      for (const part of parts) {
        expect(part.resourceLogs[0]!.resource!.attributes[0]!.key).toBe('service.name');
        expect(part.resourceLogs[0]!.scopeLogs[0]!.scope!.name).toBe('scope-a');
      }
      const bodies = parts.flatMap((p) =>
        p.resourceLogs.flatMap((r) =>
          r.scopeLogs.flatMap((s) => s.logRecords.map((l) => l.body.stringValue)),
        ),
      );
      expect(bodies).toEqual(records.map((r) => r.body.stringValue));
    }
  });

  it('rejects what can never fit a message and keeps the rest', () => {
    const body = proto(LogsRequest, logsRequest([record('small'), record('x'.repeat(5_000))]));
    const prepared = prepareOtlpRequest('logs', 'application/x-protobuf', body, {
      ...limits,
      maxMessageBytes: 2_000,
    });
    expect(prepared.accepted).toBe(1);
    expect(prepared.rejections.count).toBe(1);
    expect(prepared.rejections.onlyOversize()).toBe(true);
    expect(prepared.rejections.message('log records')).toMatch(/INGEST_MAX_MESSAGE_BYTES/);
  });

  it('rejects records with invalid ids or timestamps and accepts the others (protobuf and JSON)', () => {
    const protoBody = proto(
      LogsRequest,
      logsRequest([
        record('ok', { traceId: Buffer.alloc(16, 1), spanId: Buffer.alloc(8, 2) }),
        record('bad trace', { traceId: Buffer.alloc(5, 1) }),
        record('bad span', { spanId: Buffer.alloc(9, 1) }),
      ]),
    );
    const fromProto = prepareOtlpRequest('logs', 'application/x-protobuf', protoBody, limits);
    expect(fromProto.accepted).toBe(1);
    expect(fromProto.rejections.count).toBe(2);
    expect(fromProto.rejections.message('log records')).toMatch(/trace_id is 5 bytes/);
    expect(decodeLogs(fromProto.messages[0]!).resourceLogs[0]!.scopeLogs[0]!.logRecords).toHaveLength(1);

    const jsonBody = Buffer.from(
      JSON.stringify(
        logsRequest([
          record('ok', { traceId: 'ab'.repeat(16), timeUnixNano: '1706961234000000000' }),
          record('bad', { traceId: 'xyz' }),
          record('bad time', { timeUnixNano: '-5' }),
          'not an object',
        ]),
      ),
    );
    const fromJson = prepareOtlpRequest('logs', 'application/json', jsonBody, limits);
    expect(fromJson.accepted).toBe(1);
    expect(fromJson.rejections.count).toBe(3);
    expect(fromJson.rejections.message('log records')).toMatch(/traceId must be 32 hex characters/);
  });

  it('requires span and trace ids on spans', () => {
    const body = proto(TraceRequest, {
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                { traceId: Buffer.alloc(16, 1), spanId: Buffer.alloc(8, 1), name: 'ok' },
                { spanId: Buffer.alloc(8, 1), name: 'no trace' },
                { traceId: Buffer.alloc(16, 0), spanId: Buffer.alloc(8, 1), name: 'zero trace' },
              ],
            },
          ],
        },
      ],
    });
    const prepared = prepareOtlpRequest('traces', 'application/x-protobuf', body, limits);
    expect(prepared.accepted).toBe(1);
    expect(prepared.rejections.message('spans')).toMatch(/trace_id is empty.*trace_id is all zeros/);
  });

  it('refuses too many elements before decoding, in both encodings', () => {
    // 1,000,000 empty ResourceLogs: 2 MB of protobuf.
    const empties = Buffer.alloc(2_000_000);
    for (let i = 0; i < empties.length; i += 2) empties[i] = 0x0a;
    expect(() => prepareOtlpRequest('logs', 'application/x-protobuf', empties, limits)).toThrow(
      PayloadTooLargeError,
    );
    const json = Buffer.from(`{"resourceLogs":[${'{},'.repeat(20_000)}{}]}`);
    expect(() => prepareOtlpRequest('logs', 'application/json', json, limits)).toThrow(/INGEST_MAX_ITEMS/);
    const scalars = Buffer.from(`{"resourceLogs":[${'1,'.repeat(20_000)}1]}`);
    expect(() => prepareOtlpRequest('logs', 'application/json', scalars, limits)).toThrow(/INGEST_MAX_ITEMS/);
  });

  it('refuses AnyValues nested past the bound and accepts them at the bound', () => {
    for (const contentType of ['application/x-protobuf', 'application/json'] as const) {
      const encode = (request: object) =>
        contentType === 'application/json'
          ? Buffer.from(JSON.stringify(request))
          : proto(LogsRequest, request);
      const atBound = encode(logsRequest([{ body: nested(MAX_ANY_VALUE_DEPTH) }]));
      expect(prepareOtlpRequest('logs', contentType, atBound, limits).accepted).toBe(1);
      const deep = encode(
        logsRequest([{ attributes: [{ key: 'deep', value: nested(MAX_ANY_VALUE_DEPTH + 1) }] }]),
      );
      expect(() => prepareOtlpRequest('logs', contentType, deep, limits)).toThrow(/deeper than 32/);
    }
    const veryDeep = Buffer.from(`${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    expect(() => prepareOtlpRequest('logs', 'application/json', veryDeep, limits)).toThrow(
      PayloadTooLargeError,
    );
  });

  it('rejects undecodable bodies', () => {
    expect(() =>
      prepareOtlpRequest('logs', 'application/x-protobuf', Buffer.from([0x0a, 0xff, 0xff, 0xff]), limits),
    ).toThrow(BadPayloadError);
    expect(() => prepareOtlpRequest('logs', 'application/json', Buffer.from('{not json'), limits)).toThrow(
      BadPayloadError,
    );
    expect(() =>
      prepareOtlpRequest('logs', 'application/json', Buffer.from('{"resourceLogs":"x"}'), limits),
    ).toThrow(/resourceLogs/);
    expect(() => prepareOtlpRequest('logs', 'application/json', Buffer.from('[1]'), limits)).toThrow(
      BadPayloadError,
    );
  });
});

describe('OTLP responses', () => {
  it('encodes success, and partial success with the count and reason, in the request encoding', () => {
    expect(encodeSuccess('logs', 'application/json').toString()).toBe('{}');
    expect(encodeSuccess('traces', 'application/x-protobuf')).toHaveLength(0);
    const rejections = new Rejections();
    rejections.add('trace_id is 5 bytes (must be 16 or empty)', 2);
    expect(JSON.parse(encodeSuccess('logs', 'application/json', rejections).toString())).toEqual({
      partialSuccess: {
        rejectedLogRecords: '2',
        errorMessage: '2 log records rejected: 2 × trace_id is 5 bytes (must be 16 or empty)',
      },
    });
    const decoded = LogsResponse.toObject(
      LogsResponse.decode(encodeSuccess('logs', 'application/x-protobuf', rejections)),
      { longs: Number },
    );
    expect(decoded).toEqual({
      partialSuccess: {
        rejectedLogRecords: 2,
        errorMessage: '2 log records rejected: 2 × trace_id is 5 bytes (must be 16 or empty)',
      },
    });
  });

  it('encodes google.rpc.Status errors', () => {
    expect(JSON.parse(encodeStatus('application/json', RpcCode.UNAVAILABLE, 'down').toString())).toEqual({
      code: 14,
      message: 'down',
    });
    const Status = new protobuf.Type('Status')
      .add(new protobuf.Field('code', 1, 'int32'))
      .add(new protobuf.Field('message', 2, 'string'));
    expect(Status.toObject(Status.decode(encodeStatus('application/x-protobuf', 3, 'bad')))).toEqual({
      code: 3,
      message: 'bad',
    });
  });

  it('recognizes the OTLP media types', () => {
    expect(otlpContentType('application/x-protobuf')).toBe('application/x-protobuf');
    expect(otlpContentType('application/json; charset=utf-8')).toBe('application/json');
    expect(otlpContentType('text/plain')).toBeUndefined();
    expect(otlpContentType(undefined)).toBeUndefined();
  });
});
