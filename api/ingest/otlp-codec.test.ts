import protobuf from 'protobufjs';
import generatedRoot from '@opentelemetry/otlp-transformer/build/src/generated/root';
import { BadPayloadError } from '../errors';
import { RpcCode, encodeStatus, encodeSuccess, otlpContentType, validateOtlpRequest } from './otlp-codec';

type Cls = { encode(m: object): { finish(): Uint8Array }; fromObject(o: object): object };
const v1 = (
  generatedRoot as unknown as {
    opentelemetry: { proto: { collector: { logs: { v1: Record<string, Cls> } } } };
  }
).opentelemetry.proto.collector.logs.v1;

describe('OTLP codec', () => {
  const logsRequest = {
    resourceLogs: [
      {
        resource: { attributes: [] },
        scopeLogs: [{ logRecords: [{ body: { stringValue: 'a' } }, { body: { stringValue: 'b' } }] }],
      },
    ],
  };

  it('counts the records of a protobuf request', () => {
    const bytes = v1
      .ExportLogsServiceRequest!.encode(v1.ExportLogsServiceRequest!.fromObject(logsRequest))
      .finish();
    expect(validateOtlpRequest('logs', 'application/x-protobuf', Buffer.from(bytes))).toBe(2);
  });

  it('counts the records of a JSON request', () => {
    expect(validateOtlpRequest('logs', 'application/json', Buffer.from(JSON.stringify(logsRequest)))).toBe(2);
    expect(
      validateOtlpRequest(
        'traces',
        'application/json',
        Buffer.from('{"resourceSpans":[{"scopeSpans":[{"spans":[{}]}]}]}'),
      ),
    ).toBe(1);
    expect(validateOtlpRequest('logs', 'application/json', Buffer.from('{}'))).toBe(0);
  });

  it('rejects undecodable bodies', () => {
    expect(() =>
      validateOtlpRequest('logs', 'application/x-protobuf', Buffer.from([0x0a, 0xff, 0xff, 0xff])),
    ).toThrow(BadPayloadError);
    expect(() => validateOtlpRequest('logs', 'application/json', Buffer.from('{not json'))).toThrow(
      BadPayloadError,
    );
    expect(() =>
      validateOtlpRequest('logs', 'application/json', Buffer.from('{"resourceLogs":"x"}')),
    ).toThrow(/resourceLogs/);
    expect(() => validateOtlpRequest('logs', 'application/json', Buffer.from('[1]'))).toThrow(
      BadPayloadError,
    );
  });

  it('encodes responses in the request encoding', () => {
    expect(encodeSuccess('logs', 'application/json').toString()).toBe('{}');
    expect(encodeSuccess('traces', 'application/x-protobuf')).toHaveLength(0);
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
