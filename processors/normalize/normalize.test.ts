import { buildScenario, contractLogMessage, encodeLogs, encodeSpans } from '../../test/support/otlp-fixtures';
import { decodeLogsMessage, decodeTracesMessage } from '../otlp/decode';
import type { OtlpLogsRequest, OtlpTracesRequest } from '../otlp/types';
import type { SourcePosition } from '../records';
import { normalizeLogs, normalizeOtlpLogs, normalizeOtlpSpans } from './index';

const position: SourcePosition = { topic: 'otel-logs', partition: 2, offset: '1234' };
const scenario = buildScenario({ traces: 6, seed: 5, errorRate: 0.5 });

function logsOf(encoding: 'otlp_proto' | 'otlp_json') {
  return normalizeLogs(decodeLogsMessage(encodeLogs(scenario.logs, { encoding })[0]!), position);
}

function spansOf(encoding: 'otlp_proto' | 'otlp_json') {
  return normalizeOtlpSpans(decodeTracesMessage(encodeSpans(scenario.spans, { encoding })[0]!).request);
}

describe('normalize OTLP logs', () => {
  it('produces the same records from protobuf and JSON', () => {
    const proto = logsOf('otlp_proto');
    const json = logsOf('otlp_json');
    expect(proto.errors).toEqual([]);
    expect(json.errors).toEqual([]);
    expect(proto.records).toHaveLength(scenario.logs.length);
    expect(json.records.map((r) => ({ ...r, source: 'otlp_proto' }))).toEqual(proto.records);
  });

  it('maps every field of an SDK log record', () => {
    const { records } = logsOf('otlp_proto');
    const sdk = scenario.logs[0]!;
    const record = records.find((r) => r.body === sdk.body)!;
    const [seconds, nanos] = sdk.hrTime;
    expect(record).toMatchObject({
      id: expect.stringMatching(/^otel-logs:2:1234:\d+$/),
      source: 'otlp_proto',
      time_unix_nano: (BigInt(seconds) * 1_000_000_000n + BigInt(nanos)).toString(),
      time_ms: seconds * 1000 + Math.floor(nanos / 1e6),
      trace_id: sdk.spanContext!.traceId,
      span_id: sdk.spanContext!.spanId,
      trace_flags: 1,
      severity_number: 9,
      severity_text: 'INFO',
      service: 'arda',
      env: 'dev',
      workflow_id: 'wf-snowflake-001',
      circuit_id: 'CIRCUIT-100',
      product_id: 'PROD-400',
      resource_id: 'RES-0',
      resource_type_id: 'RT-0',
      request_id: 'req-00000000',
      scope_name: 'arda.app',
      scope_version: '1.4.2',
    });
    expect(record.resource_attributes['service.name']).toBe('arda');
    expect(record.resource_attributes['deployment.environment.name']).toBe('dev');
    expect(record.log_attributes.workflow_id).toBe('wf-snowflake-001');
    expect(record.observed_time_unix_nano > record.time_unix_nano).toBe(true);
  });

  it('gives replayed messages the same ids, distinct within a message', () => {
    const a = logsOf('otlp_proto').records.map((r) => r.id);
    const b = logsOf('otlp_proto').records.map((r) => r.id);
    expect(a).toEqual(b);
    expect(new Set(a).size).toBe(a.length);
  });
});

describe('normalize OTLP/JSON edge cases', () => {
  const request = (logRecords: unknown[]): OtlpLogsRequest =>
    JSON.parse(
      JSON.stringify({
        resourceLogs: [
          {
            resource: {
              attributes: [
                { key: 'service.name', value: { stringValue: 'beorn' } },
                { key: 'deployment.environment', value: { stringValue: 'staging' } },
                { key: 'circuit_id', value: { stringValue: 'CIRCUIT-RES' } },
              ],
            },
            scopeLogs: [{ scope: { name: 'beorn.log' }, logRecords }],
          },
        ],
      }),
    ) as OtlpLogsRequest;

  it('keeps good records and reports bad ones with their index', () => {
    const batch = normalizeOtlpLogs(
      request([
        { timeUnixNano: '1768473000000000001', body: { stringValue: 'ok 1' } },
        { timeUnixNano: '1768473000000000002', traceId: 'not-hex', body: { stringValue: 'bad id' } },
        { timeUnixNano: 'yesterday', body: { stringValue: 'bad time' } },
        null,
        { timeUnixNano: 1768473000000, body: { stringValue: 'ok 2' } },
      ]),
      'otlp_json',
      position,
    );
    expect(batch.records.map((r) => r.body)).toEqual(['ok 1', 'ok 2']);
    expect(batch.records.map((r) => r.id)).toEqual(['otel-logs:2:1234:0', 'otel-logs:2:1234:4']);
    expect(batch.errors.map((e) => [e.index, e.reason])).toEqual([
      [1, 'invalid_record'],
      [2, 'invalid_record'],
      [3, 'invalid_record'],
    ]);
    expect(batch.errors[0]!.message).toMatch(/traceId/);
  });

  it('handles enum names, int64 strings, AnyValue bodies, observed-time fallback and id fallbacks', () => {
    const [record] = normalizeOtlpLogs(
      request([
        {
          observedTimeUnixNano: '1768473000123456789',
          severityNumber: 'SEVERITY_NUMBER_WARN2',
          traceId: '4BF92F3577B34DA6A3CE929D0E0E4736',
          spanId: '0000000000000000',
          body: {
            kvlistValue: {
              values: [
                { key: 'n', value: { intValue: '9007199254740993' } },
                { key: 'ok', value: { boolValue: true } },
                {
                  key: 'tags',
                  value: { arrayValue: { values: [{ stringValue: 'a' }, { doubleValue: 1.5 }] } },
                },
              ],
            },
          },
          attributes: [
            { key: 'count', value: { intValue: '42' } },
            { key: 'ratio', value: { doubleValue: 0.25 } },
            { key: 'raw', value: { bytesValue: 'AQID' } },
            { key: 'span_id', value: { stringValue: '00F067AA0BA902B7' } },
            { key: 'circuit_id', value: { stringValue: 'CIRCUIT-LOG' } },
          ],
        },
      ]),
      'otlp_json',
      position,
    ).records;
    expect(record).toMatchObject({
      time_unix_nano: '1768473000123456789',
      time_ms: 1768473000123,
      severity_number: 14,
      severity_text: 'WARN2',
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      span_id: '00f067aa0ba902b7',
      body: '{"n":"9007199254740993","ok":true,"tags":["a",1.5]}',
      service: 'beorn',
      env: 'staging',
      circuit_id: 'CIRCUIT-LOG',
    });
    expect(record!.log_attributes).toMatchObject({ count: '42', ratio: '0.25', raw: 'AQID' });
  });

  it('does not take a non-hex trace_id attribute as the trace id', () => {
    const [record] = normalizeOtlpLogs(
      request([
        {
          body: { stringValue: 'x' },
          attributes: [{ key: 'trace_id', value: { stringValue: 'wf-snowflake-001' } }],
        },
      ]),
      'otlp_json',
      position,
    ).records;
    expect(record!.trace_id).toBe('');
    expect(record!.log_attributes.trace_id).toBe('wf-snowflake-001');
  });

  it('reports a malformed scope without losing other scopes', () => {
    const batch = normalizeOtlpLogs(
      {
        resourceLogs: [
          { scopeLogs: [{ logRecords: {} as never }, { logRecords: [{ body: { stringValue: 'fine' } }] }] },
        ],
      },
      'otlp_json',
      position,
    );
    expect(batch.records.map((r) => r.body)).toEqual(['fine']);
    expect(batch.errors).toEqual([
      { index: 0, reason: 'invalid_structure', message: 'scope: logRecords must be an array' },
    ]);
  });
});

describe('normalize OTLP spans', () => {
  it('produces the same spans from protobuf and JSON', () => {
    const proto = spansOf('otlp_proto');
    expect(proto.errors).toEqual([]);
    expect(spansOf('otlp_json').records).toEqual(proto.records);
  });

  it('maps ids, times, kinds, status, events and custom attributes', () => {
    const { records } = spansOf('otlp_proto');
    const sdkRoot = scenario.spans.find((s) => s.parentSpanId === undefined)!;
    const root = records.find((r) => r.span_id === sdkRoot.spanContext().spanId)!;
    expect(root).toMatchObject({
      trace_id: sdkRoot.spanContext().traceId,
      parent_span_id: '',
      name: 'POST /api/v1/design',
      kind: 'Server',
      service: 'arda',
      env: 'dev',
      workflow_id: expect.stringMatching(/^wf-/),
    });
    expect(BigInt(root.end_time_unix_nano) - BigInt(root.start_time_unix_nano)).toBe(
      BigInt(root.duration_ns),
    );
    const failed = records.filter((r) => r.status_code === 'Error');
    expect(failed.length).toBe(scenario.traces.filter((t) => t.failure !== null).length);
    expect(failed[0]!.events[0]).toMatchObject({ name: 'exception' });
    expect(failed[0]!.events[0]!.attributes['exception.message']).toBe(failed[0]!.status_message);
    const llm = records.find((r) => r.name.startsWith('chat'))!;
    expect(llm.kind).toBe('Client');
    expect(llm.span_attributes['gen_ai.usage.input_tokens']).toMatch(/^\d+$/);
  });

  it('accepts enum names and reports spans without ids', () => {
    const request: OtlpTracesRequest = {
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
                  spanId: '00f067aa0ba902b7',
                  kind: 'SPAN_KIND_PRODUCER',
                  status: { code: 'STATUS_CODE_ERROR', message: 'boom' },
                  startTimeUnixNano: '2000',
                  endTimeUnixNano: '1000',
                  links: [{ traceId: '5bf92f3577b34da6a3ce929d0e0e4736', spanId: '10f067aa0ba902b7' }],
                },
                { name: 'no ids' },
              ],
            },
          ],
        },
      ],
    };
    const batch = normalizeOtlpSpans(request);
    expect(batch.records[0]).toMatchObject({
      kind: 'Producer',
      status_code: 'Error',
      duration_ns: '0',
      service: '',
    });
    expect(batch.records[0]!.links[0]).toMatchObject({
      trace_id: '5bf92f3577b34da6a3ce929d0e0e4736',
      trace_state: '',
    });
    expect(batch.errors).toEqual([
      { index: 1, reason: 'invalid_record', message: 'span has no traceId or spanId' },
    ]);
  });
});

describe('normalize contract JSON logs', () => {
  it('maps the seeds log contract onto LogRecord', () => {
    const { records, errors } = normalizeLogs(
      decodeLogsMessage(contractLogMessage({ environment: 'prod' })),
      position,
    );
    expect(errors).toEqual([]);
    expect(records[0]).toMatchObject({
      id: 'otel-logs:2:1234:0',
      source: 'json_log',
      time_unix_nano: '1768473045123456000',
      time_ms: 1768473045123,
      severity_number: 17,
      severity_text: 'ERROR',
      body: 'Payment failed for order 1234',
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      service: 'beorn',
      env: 'prod',
      workflow_id: 'wf-mssql-002',
      product_id: 'PROD-401',
      request_id: '6f1c1c8e-5a3b-4b0e-9f57-3e2d7a0f1b2c',
    });
    expect(records[0]!.resource_attributes).toEqual({ 'service.name': 'beorn', 'service.version': '1.4.2' });
    expect(records[0]!.log_attributes).toMatchObject({
      error_code: 'PAYMENT_FAILURE',
      user_id: 'user-42',
      attempt: '2',
    });
  });

  it.each([
    [1768473045.5, '1768473045500000000'],
    [1768473045123, '1768473045123000000'],
    [1768473045123456, '1768473045123456000'],
    ['2026-01-15T11:30:45+01:00', '1768473045000000000'],
  ])('reads timestamp %p', (timestamp, nanos) => {
    const { records } = normalizeLogs(decodeLogsMessage(contractLogMessage({ timestamp })), position);
    expect(records[0]!.time_unix_nano).toBe(nanos);
  });
});
