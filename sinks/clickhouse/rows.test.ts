import type { CorrelationPart } from '../../processors/correlate';
import type { Alert, LogRecord, SpanRecord } from '../../processors/records';
import { InvalidRowError, alertRow, correlationPartRow, logRow, spanRow } from './rows';

const custom = {
  service: 'checkout',
  env: 'prod',
  workflow_id: 'wf-1',
  circuit_id: '',
  product_id: '',
  resource_id: '',
  resource_type_id: '',
  request_id: 'req-9',
};
const enrichment = {
  error_code: 'TIMEOUT',
  gen_ai_input_tokens: 0,
  gen_ai_output_tokens: 0,
  redacted_count: 0,
};

const log: LogRecord = {
  ...custom,
  ...enrichment,
  id: 'otel-logs:0:42:1',
  source: 'otlp_proto',
  time_unix_nano: '1795334400123456789',
  observed_time_unix_nano: '1795334400200000000',
  time_ms: 1795334400123,
  trace_id: '0af7651916cd43dd8448eb211c80319c',
  span_id: 'b7ad6b7169203331',
  trace_flags: 1,
  severity_number: 17,
  severity_text: 'ERROR',
  body: 'payment timed out',
  event_name: '',
  resource_schema_url: 'https://opentelemetry.io/schemas/1.26.0',
  resource_attributes: { 'service.name': 'checkout' },
  scope_name: 'checkout.payments',
  scope_version: '1.2.3',
  scope_schema_url: '',
  scope_attributes: {},
  log_attributes: { 'http.route': '/pay' },
};

const span: SpanRecord = {
  ...custom,
  ...enrichment,
  trace_id: '0af7651916cd43dd8448eb211c80319c',
  span_id: 'b7ad6b7169203331',
  parent_span_id: '',
  trace_state: 'vendor=1',
  name: 'POST /pay',
  kind: 'Server',
  start_time_unix_nano: '1795334400000000000',
  end_time_unix_nano: '1795334400250000000',
  duration_ns: '250000000',
  start_ms: 1795334400000,
  duration_ms: 250,
  status_code: 'Error',
  status_message: 'timeout',
  resource_schema_url: '',
  resource_attributes: { 'service.name': 'checkout' },
  scope_name: 'http',
  scope_version: '',
  scope_attributes: {},
  span_attributes: { 'http.method': 'POST' },
  events: [
    { time_unix_nano: '1795334400100000000', name: 'retry', attributes: { n: '1' } },
    { time_unix_nano: '1795334400200000000', name: 'exception', attributes: {} },
  ],
  links: [
    {
      trace_id: '11111111111111111111111111111111',
      span_id: '2222222222222222',
      trace_state: '',
      attributes: { why: 'batch' },
    },
  ],
};

describe('ClickHouse rows', () => {
  it('maps a log record onto the exporter columns plus the StackLens ones', () => {
    expect(logRow(log)).toEqual({
      Timestamp: '1795334400123456789',
      TraceId: '0af7651916cd43dd8448eb211c80319c',
      SpanId: 'b7ad6b7169203331',
      TraceFlags: 1,
      SeverityText: 'ERROR',
      SeverityNumber: 17,
      ServiceName: 'checkout',
      Body: 'payment timed out',
      ResourceSchemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
      ResourceAttributes: { 'service.name': 'checkout' },
      ScopeSchemaUrl: '',
      ScopeName: 'checkout.payments',
      ScopeVersion: '1.2.3',
      ScopeAttributes: {},
      LogAttributes: { 'http.route': '/pay' },
      EventName: '',
      StackLensRecordId: 'otel-logs:0:42:1',
      StackLensErrorCode: 'TIMEOUT',
    });
  });

  it('maps span events and links onto parallel Nested arrays', () => {
    const row = spanRow(span);

    expect(row).toMatchObject({
      Timestamp: '1795334400000000000',
      SpanName: 'POST /pay',
      SpanKind: 'Server',
      ServiceName: 'checkout',
      Duration: '250000000',
      StatusCode: 'Error',
      StatusMessage: 'timeout',
      StackLensErrorCode: 'TIMEOUT',
    });
    expect(row['Events.Timestamp']).toEqual(['1795334400100000000', '1795334400200000000']);
    expect(row['Events.Name']).toEqual(['retry', 'exception']);
    expect(row['Events.Attributes']).toEqual([{ n: '1' }, {}]);
    expect(row['Links.TraceId']).toEqual(['11111111111111111111111111111111']);
    expect(row['Links.SpanId']).toEqual(['2222222222222222']);
    expect(row['Links.TraceState']).toEqual(['']);
    expect(row['Links.Attributes']).toEqual([{ why: 'batch' }]);
  });

  it('pads times to 19 nanosecond digits, which ClickHouse reads as ticks rather than a date', () => {
    expect(logRow({ ...log, time_unix_nano: '0' }).Timestamp).toBe('0000000000000000000');
    expect(logRow({ ...log, time_unix_nano: '12' }).Timestamp).toBe('0000000000000000012');
    expect(logRow(log).Timestamp).toBe(log.time_unix_nano);
    expect(spanRow({ ...span, start_time_unix_nano: '1000000000' }).Timestamp).toBe('0000000001000000000');
  });

  it('gives a span without events or links empty arrays, not missing keys', () => {
    const row = spanRow({ ...span, events: [], links: [] });
    expect(row['Events.Name']).toEqual([]);
    expect(row['Links.TraceId']).toEqual([]);
  });

  it('maps a correlation part, renaming its times to the table columns and its flags to 0/1', () => {
    const part: CorrelationPart = {
      trace_id: span.trace_id,
      kind: 'span',
      record_id: span.span_id,
      start_time_unix_nano: '1795334400000000000',
      end_time_unix_nano: '1795334400250000000',
      service: 'checkout',
      service_listed: true,
      is_root: true,
      root_span_name: 'POST /pay',
      level: '',
      is_error: true,
      error_time_unix_nano: '1795334400200000000',
      error_message: 'timeout',
      error_code: 'TIMEOUT',
      gen_ai_input_tokens: 10,
      gen_ai_output_tokens: 20,
    };

    expect(correlationPartRow(part)).toEqual({
      trace_id: span.trace_id,
      kind: 'span',
      record_id: span.span_id,
      part_start: '1795334400000000000',
      part_end: '1795334400250000000',
      service: 'checkout',
      service_listed: 1,
      is_root: 1,
      root_span_name: 'POST /pay',
      level: '',
      is_error: 1,
      error_time: '1795334400200000000',
      error_message: 'timeout',
      error_code: 'TIMEOUT',
      input_tokens: 10,
      output_tokens: 20,
    });
    expect(correlationPartRow({ ...part, is_error: false, error_time_unix_nano: '0' }).error_time).toBe(
      '0000000000000000000',
    );
  });

  describe('alerts', () => {
    const alert: Alert = {
      id: 'a1',
      issue_code: 'PAYMENT_TIMEOUT',
      severity: 'error',
      message: 'payments time out',
      suggested_fix: 'raise the gateway timeout',
      confidence: 0.8,
      automation_possible: false,
      automation_action: null,
      related_trace_id: null,
      related_logs: ['otel-logs:0:42:1'],
      created_at: '2025-01-15T10:31:00.000Z',
      created_by: 'stacklens',
      rule_id: 'timeouts',
      service: 'checkout',
      count: 4,
      window_start: '2025-01-15T10:30:00.000Z',
    };

    it('turns nulls into empty strings and ISO times into epoch milliseconds', () => {
      expect(alertRow(alert)).toEqual({
        id: 'a1',
        issue_code: 'PAYMENT_TIMEOUT',
        severity: 'error',
        message: 'payments time out',
        suggested_fix: 'raise the gateway timeout',
        confidence: 0.8,
        automation_possible: false,
        automation_action: '',
        related_trace_id: '',
        related_logs: ['otel-logs:0:42:1'],
        created_at: '1736937060000',
        created_by: 'stacklens',
        rule_id: 'timeouts',
        service: 'checkout',
        count: 4,
        window_start: '1736937000000',
      });
    });

    it('keeps present optional values', () => {
      const row = alertRow({ ...alert, automation_action: 'restart', related_trace_id: span.trace_id });
      expect(row.automation_action).toBe('restart');
      expect(row.related_trace_id).toBe(span.trace_id);
    });

    it('rejects a time that is not ISO-8601', () => {
      expect(() => alertRow({ ...alert, created_at: 'yesterday' })).toThrow(InvalidRowError);
    });
  });
});
