import { jsonEncoder, model, option, TraceId } from 'zipkin';
import { buildScenario, encodeLogs, encodeSpans } from '../../test/support/otlp-fixtures';
import { DecodeError } from '../errors';
import { normalizeLogs, normalizeOtlpSpans } from '../normalize';
import { decodeLogsMessage, decodeTracesMessage } from './decode';
import { zipkin } from './generated/zipkin';
import { ExportTraceServiceRequest } from './proto';

// INPUT_ENCODING_LOGS / INPUT_ENCODING_TRACES with the Collector kafkareceiver's meanings, each fed a
// message built with that format's official library or code generated from its official definition.
const position = { topic: 'otel-logs', partition: 0, offset: '3' };
const scenario = buildScenario({ traces: 2, seed: 7 });

function decodeError(fn: () => unknown): DecodeError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DecodeError) return error;
    throw error;
  }
  throw new Error('expected a DecodeError');
}

const TRACE_ID = '5b8efff798038103d269b633813fc60c';
const SPAN_ID = 'eee19b7ec3c1b174';
const PARENT_ID = 'eee19b7ec3c1b173';
const START_US = 1_795_334_730_000_123;

/** A Zipkin proto3 ListOfSpans, encoded with the code generated from openzipkin's zipkin.proto. */
function zipkinProtoMessage(): Buffer {
  return Buffer.from(
    zipkin.proto3.ListOfSpans.encode({
      spans: [
        {
          traceId: Buffer.from(TRACE_ID, 'hex'),
          id: Buffer.from(SPAN_ID, 'hex'),
          parentId: Buffer.from(PARENT_ID, 'hex'),
          kind: zipkin.proto3.Span.Kind.SERVER,
          name: 'get /checkout',
          timestamp: START_US,
          duration: 2_500,
          localEndpoint: { serviceName: 'checkout', ipv4: Buffer.from([10, 0, 0, 7]), port: 8080 },
          remoteEndpoint: { serviceName: 'gateway' },
          annotations: [{ timestamp: START_US + 100, value: 'cache miss' }],
          tags: { 'http.method': 'GET', error: 'true' },
        },
      ],
    }).finish(),
  );
}

describe('zipkin_proto', () => {
  it('translates a ListOfSpans into OTLP spans as the Collector does', () => {
    const decoded = decodeTracesMessage(zipkinProtoMessage(), undefined, 'zipkin_proto');
    expect(decoded.format).toBe('zipkin_proto');
    const { records, errors } = normalizeOtlpSpans(decoded.request);
    expect(errors).toEqual([]);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      trace_id: TRACE_ID,
      span_id: SPAN_ID,
      parent_span_id: PARENT_ID,
      name: 'get /checkout',
      kind: 'Server',
      service: 'checkout',
      start_time_unix_nano: `${START_US}000`,
      end_time_unix_nano: `${START_US + 2_500}000`,
      status_code: 'Error',
      events: [{ time_unix_nano: `${START_US + 100}000`, name: 'cache miss', attributes: {} }],
    });
    expect(records[0]!.span_attributes).toEqual({
      'http.method': 'GET',
      'net.host.ip': '10.0.0.7',
      'net.host.port': '8080',
      'peer.service': 'gateway',
    });
  });

  it('in auto mode goes to the dead letters with a reason instead of vanishing as an empty OTLP request', () => {
    const error = decodeError(() => decodeTracesMessage(zipkinProtoMessage()));
    expect(error.reason).toBe('invalid_protobuf');
  });

  it('in auto mode, a protobuf that reads as an OTLP request without a single span is dead-lettered', () => {
    // What another format's bytes can decode to: resources, but nothing in them.
    const hollow = Buffer.from(
      ExportTraceServiceRequest.encode({
        resourceSpans: [{ resource: { attributes: [{ key: 'k', value: { stringValue: 'v' } }] } }],
      }).finish(),
    );
    const error = decodeError(() => decodeTracesMessage(hollow));
    expect(error.reason).toBe('unknown_format');
    expect(error.message).toMatch(/no spans: not an OTLP export request/);
    // Declared as OTLP, it is an empty request.
    expect(normalizeOtlpSpans(decodeTracesMessage(hollow, undefined, 'otlp_proto').request).records).toEqual(
      [],
    );
  });
});

describe('zipkin_json', () => {
  it('translates Zipkin v2 JSON written by zipkin-js', () => {
    const span = new model.Span(
      new TraceId({ traceId: TRACE_ID, spanId: SPAN_ID, parentId: new option.Some(PARENT_ID) }),
    );
    span.setName('publish order');
    span.setKind('PRODUCER');
    span.setTimestamp(START_US);
    span.setDuration(900);
    span.setLocalEndpoint(new model.Endpoint({ serviceName: 'orders', ipv4: '10.0.0.9', port: 9000 }));
    span.putTag('messaging.system', 'kafka');
    span.putTag('otel.status_code', 'STATUS_CODE_OK');
    const message = Buffer.from(`[${jsonEncoder.JSON_V2.encode(span)}]`);

    const decoded = decodeTracesMessage(message, undefined, 'zipkin_json');
    const { records } = normalizeOtlpSpans(decoded.request);
    expect(records[0]).toMatchObject({
      trace_id: TRACE_ID,
      span_id: SPAN_ID,
      parent_span_id: PARENT_ID,
      name: 'publish order',
      kind: 'Producer',
      service: 'orders',
      status_code: 'Ok',
      start_time_unix_nano: `${START_US}000`,
      end_time_unix_nano: `${START_US + 900}000`,
    });
    expect(records[0]!.span_attributes['messaging.system']).toBe('kafka');
  });

  it('refuses JSON that is not an array of spans', () => {
    expect(decodeError(() => decodeTracesMessage(Buffer.from('{}'), undefined, 'zipkin_json')).reason).toBe(
      'invalid_structure',
    );
  });
});

describe('raw and text logs', () => {
  it('raw: the whole message is one record with a bytes body', () => {
    const value = Buffer.from([0x00, 0xff, 0x10]);
    const receivedMs = Date.UTC(2026, 10, 22, 8, 5, 0, 123);
    const decoded = decodeLogsMessage(value, undefined, 'raw', receivedMs);
    expect(decoded.format).toBe('raw');
    const { records } = normalizeLogs(decoded, position);
    expect(records).toHaveLength(1);
    expect(records[0]!.source).toBe('raw');
    expect(records[0]!.body).toBe(value.toString('base64'));
    // No time in the message: the Kafka timestamp is its observed time, hence its time.
    expect(records[0]!.observed_time_unix_nano).toBe(`${receivedMs}000000`);
    expect(records[0]!.time_ms).toBe(receivedMs);
  });

  it('text: the whole message is one record with a UTF-8 string body; other bytes are refused', () => {
    const line = '2026-11-22T08:05:00Z checkout ERROR payment timed out — retrying';
    const { records } = normalizeLogs(decodeLogsMessage(Buffer.from(line), undefined, 'text'), position);
    expect(records.map((r) => [r.source, r.body])).toEqual([['text', line]]);
    expect(decodeError(() => decodeLogsMessage(Buffer.from([0xc3, 0x28]), undefined, 'text')).reason).toBe(
      'invalid_record',
    );
  });
});

describe('otlp_proto and otlp_json declared', () => {
  it('reads what the OpenTelemetry SDK serializes, whatever the headers say', () => {
    const proto = encodeLogs(scenario.logs)[0]!;
    expect(decodeLogsMessage(proto, { 'content-type': 'application/json' }, 'otlp_proto').format).toBe(
      'otlp_proto',
    );
    const json = encodeSpans(scenario.spans, { encoding: 'otlp_json' })[0]!;
    const decoded = decodeTracesMessage(json, undefined, 'otlp_json');
    expect(decoded.format).toBe('otlp_json');
    expect(normalizeOtlpSpans(decoded.request).records.length).toBeGreaterThan(0);
  });

  it('otlp_json does not take a seeds JSON log record for OTLP', () => {
    const record = Buffer.from(
      JSON.stringify({ timestamp: '2026-11-22T08:05:00Z', level: 'info', message: 'x' }),
    );
    expect(decodeError(() => decodeLogsMessage(record, undefined, 'otlp_json')).reason).toBe(
      'unknown_format',
    );
  });
});
