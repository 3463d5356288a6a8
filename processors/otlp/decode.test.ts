import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { Resource } from '@opentelemetry/resources';
import {
  buildScenario,
  contentTypeHeader,
  contractLogMessage,
  encodeLogs,
  encodeSpans,
} from '../../test/support/otlp-fixtures';
import { DecodeError } from '../errors';
import { normalizeLogs } from '../normalize';
import { decodeLogsMessage, decodeTracesMessage, detectEncoding } from './decode';
import { ExportLogsServiceRequest } from './proto';

const scenario = buildScenario({ traces: 3, seed: 11 });

function decodeError(fn: () => unknown): DecodeError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DecodeError) return error;
    throw error;
  }
  throw new Error('expected a DecodeError');
}

describe('detectEncoding', () => {
  it('follows the content-type header, case-insensitively and with parameters', () => {
    const json = Buffer.from('{}');
    expect(detectEncoding(json, { 'Content-Type': 'application/x-protobuf' })).toEqual({
      encoding: 'protobuf',
      declared: true,
    });
    expect(detectEncoding(json, { 'content-type': Buffer.from('application/json; charset=utf-8') })).toEqual({
      encoding: 'json',
      declared: true,
    });
  });

  it('sniffs JSON from the first non-whitespace byte', () => {
    expect(detectEncoding(Buffer.from(' \n {"a":1}')).encoding).toBe('json');
    expect(detectEncoding(encodeLogs(scenario.logs)[0]!).encoding).toBe('protobuf');
  });

  it('rejects unsupported content types', () => {
    expect(decodeError(() => detectEncoding(Buffer.from('x'), { 'content-type': 'text/plain' })).reason).toBe(
      'unsupported_content_type',
    );
  });
});

describe('decodeLogsMessage', () => {
  it.each(['otlp_proto', 'otlp_json'] as const)(
    'decodes %s batches written by the OTel serializers',
    (encoding) => {
      const [message] = encodeLogs(scenario.logs, { encoding });
      for (const headers of [undefined, contentTypeHeader(encoding)]) {
        const decoded = decodeLogsMessage(message!, headers);
        expect(decoded.format).toBe(encoding);
        if (decoded.format === 'json_log') throw new Error('unexpected');
        const count = decoded.request.resourceLogs!.flatMap((r) =>
          r.scopeLogs!.flatMap((s) => s.logRecords!),
        ).length;
        expect(count).toBe(scenario.logs.length);
      }
    },
  );

  it('decodes a protobuf batch whose second byte is `{` (looks like JSON after 0x0A)', () => {
    // Pad the body until the first ResourceLogs is exactly 123 (0x7B) bytes long.
    let body = '';
    let bytes = Buffer.alloc(0);
    for (let i = 0; i < 200 && bytes[1] !== 0x7b; i++) {
      const log = {
        ...scenario.logs[0]!,
        body,
        attributes: {},
        resource: new Resource({ 'service.name': 'arda' }),
      };
      bytes = Buffer.from(ProtobufLogsSerializer.serializeRequest([log])!);
      body += 'x';
    }
    expect([bytes[0], bytes[1]]).toEqual([0x0a, 0x7b]);
    expect(detectEncoding(bytes).encoding).toBe('json');
    const decoded = decodeLogsMessage(bytes);
    expect(decoded.format).toBe('otlp_proto');
  });

  it('decodes a single contract log record', () => {
    const decoded = decodeLogsMessage(contractLogMessage());
    expect(decoded.format).toBe('json_log');
    if (decoded.format !== 'json_log') throw new Error('unexpected');
    expect(decoded.record.service).toBe('beorn');
    expect(decoded.record.error_code).toBe('PAYMENT_FAILURE');
  });

  it.each([
    ['empty', Buffer.alloc(0), 'empty'],
    ['broken JSON', Buffer.from('{"resourceLogs": ['), 'invalid_json'],
    ['a JSON array', Buffer.from('[1,2]'), 'invalid_protobuf'],
    ['JSON that is neither OTLP nor a log record', Buffer.from('{"hello":"world"}'), 'unknown_format'],
    ['resourceLogs that is not an array', Buffer.from('{"resourceLogs": {}}'), 'invalid_structure'],
    ['garbage bytes', Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]), 'invalid_protobuf'],
    ['plain text', Buffer.from('hello world'), 'invalid_protobuf'],
  ])('throws DecodeError for %s', (_name, bytes, reason) => {
    expect(decodeError(() => decodeLogsMessage(bytes)).reason).toBe(reason);
  });

  it('rejects an invalid contract record, naming the field', () => {
    const error = decodeError(() =>
      decodeLogsMessage(contractLogMessage({ level: 'loud', trace_id: 'xyz' })),
    );
    expect(error.reason).toBe('invalid_record');
    expect(error.message).toMatch(/level/);
    expect(error.message).toMatch(/trace_id/);
  });

  it('rejects JSON declared as protobuf', () => {
    expect(
      decodeError(() => decodeLogsMessage(contractLogMessage(), contentTypeHeader('otlp_proto'))).reason,
    ).toBe('invalid_protobuf');
  });
});

describe('decodeTracesMessage', () => {
  it.each(['otlp_proto', 'otlp_json'] as const)('decodes %s batches', (encoding) => {
    const [message] = encodeSpans(scenario.spans, { encoding });
    const decoded = decodeTracesMessage(message!);
    expect(decoded.format).toBe(encoding);
    const count = decoded.request.resourceSpans!.flatMap((r) =>
      r.scopeSpans!.flatMap((s) => s.spans!),
    ).length;
    expect(count).toBe(scenario.spans.length);
  });

  it('rejects logs on the traces topic', () => {
    expect(decodeError(() => decodeTracesMessage(contractLogMessage())).reason).toBe('unknown_format');
    expect(
      decodeError(() => decodeTracesMessage(encodeLogs(scenario.logs, { encoding: 'otlp_json' })[0]!)).reason,
    ).toBe('unknown_format');
  });
});

describe('decoding with the code generated from opentelemetry-proto', () => {
  const logsMessage = (logRecord: object) =>
    Buffer.from(
      ExportLogsServiceRequest.encode(
        ExportLogsServiceRequest.fromObject({ resourceLogs: [{ scopeLogs: [{ logRecords: [logRecord] }] }] }),
      ).finish(),
    );

  it('reads the fields of the current release, such as event_name, into the record', () => {
    const decoded = decodeLogsMessage(logsMessage({ eventName: 'session.start', droppedAttributesCount: 4 }));
    const log =
      decoded.format === 'otlp_proto' ? decoded.request.resourceLogs![0]!.scopeLogs![0]!.logRecords![0]! : {};
    expect(log).toMatchObject({ eventName: 'session.start', droppedAttributesCount: 4 });
    const [record] = normalizeLogs(decoded, { topic: 'otel-logs', partition: 0, offset: '7' }).records;
    expect(record!.event_name).toBe('session.start');
    expect(
      normalizeLogs(decodeLogsMessage(logsMessage({ body: { stringValue: 'x' } })), {
        topic: 'otel-logs',
        partition: 0,
        offset: '8',
      }).records[0]!.event_name,
    ).toBe('');
  });

  it('decodes an attribute nested as deep as the API admits (past protobufjs’ default of 100 messages)', () => {
    let value: object = { stringValue: 'leaf' };
    for (let i = 1; i < 40; i++) value = { kvlistValue: { values: [{ key: `k${i}`, value }] } };
    const decoded = decodeLogsMessage(logsMessage({ attributes: [{ key: 'deep', value }] }));
    expect(decoded.format).toBe('otlp_proto');
  });
});
