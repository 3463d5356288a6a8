/**
 * Test fixtures. The Collector-like OTLP scenario builder is product code (app/demo/otlp-scenario.ts, also
 * used by the demo producers and the benchmark) and is re-exported here; what follows are test-only helpers:
 * content-type headers, a fixed contract log message and normalized records with realistic defaults.
 */
import type { OtlpKafkaEncoding } from '../../app/demo/otlp-scenario';
import type { LogRecord, SpanRecord } from '../../processors/records';

export * from '../../app/demo/otlp-scenario';

/** Content-type header the way a producer would declare each encoding. */
export function contentTypeHeader(encoding: OtlpKafkaEncoding): Record<string, string> {
  return { 'content-type': encoding === 'otlp_proto' ? 'application/x-protobuf' : 'application/json' };
}

/** One log in the seeds' JSON log contract (what custom loggers write to otel-logs), as message bytes. */
export function contractLogMessage(overrides: Record<string, unknown> = {}): Buffer {
  return Buffer.from(
    JSON.stringify({
      timestamp: '2026-01-15T10:30:45.123456Z',
      service: 'beorn',
      level: 'error',
      message: 'Payment failed for order 1234',
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      span_id: '00f067aa0ba902b7',
      request_id: '6f1c1c8e-5a3b-4b0e-9f57-3e2d7a0f1b2c',
      error_code: 'PAYMENT_FAILURE',
      user_id: 'user-42',
      product_id: 'PROD-401',
      action: 'create_order',
      status: 'failure',
      app_version: '1.4.2',
      attrs: { workflow_id: 'wf-mssql-002', attempt: 2 },
      ...overrides,
    }),
  );
}

/** A normalized LogRecord with realistic defaults (for tests of the stages after normalize). */
export function sampleLog(overrides: Partial<LogRecord> = {}): LogRecord {
  return {
    id: 'otel-logs:0:42:0',
    source: 'otlp_proto',
    time_unix_nano: '1768473000531000000',
    observed_time_unix_nano: '1768473000534000000',
    time_ms: 1768473000531,
    trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
    span_id: '00f067aa0ba902b7',
    trace_flags: 1,
    severity_number: 9,
    severity_text: 'INFO',
    body: 'Design request received for CIRCUIT-100',
    event_name: '',
    resource_schema_url: '',
    resource_attributes: { 'service.name': 'arda', 'deployment.environment.name': 'dev' },
    scope_name: 'arda.app',
    scope_version: '1.4.2',
    scope_schema_url: '',
    scope_attributes: {},
    log_attributes: { workflow_id: 'wf-snowflake-001', circuit_id: 'CIRCUIT-100' },
    service: 'arda',
    env: 'dev',
    workflow_id: 'wf-snowflake-001',
    circuit_id: 'CIRCUIT-100',
    product_id: '',
    resource_id: '',
    resource_type_id: '',
    request_id: '',
    error_code: '',
    gen_ai_input_tokens: 0,
    gen_ai_output_tokens: 0,
    redacted_count: 0,
    ...overrides,
  };
}

/** A normalized SpanRecord with realistic defaults (for tests of the stages after normalize). */
export function sampleSpan(overrides: Partial<SpanRecord> = {}): SpanRecord {
  return {
    trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
    span_id: '00f067aa0ba902b7',
    parent_span_id: '',
    trace_state: '',
    name: 'POST /api/v1/design',
    kind: 'Server',
    start_time_unix_nano: '1768473000500000000',
    end_time_unix_nano: '1768473000620000000',
    duration_ns: '120000000',
    start_ms: 1768473000500,
    duration_ms: 120,
    status_code: 'Unset',
    status_message: '',
    resource_schema_url: '',
    resource_attributes: { 'service.name': 'arda', 'deployment.environment.name': 'dev' },
    scope_name: 'arda.http',
    scope_version: '1.0.0',
    scope_attributes: {},
    span_attributes: { workflow_id: 'wf-snowflake-001' },
    events: [],
    links: [],
    service: 'arda',
    env: 'dev',
    workflow_id: 'wf-snowflake-001',
    circuit_id: '',
    product_id: '',
    resource_id: '',
    resource_type_id: '',
    request_id: '',
    error_code: '',
    gen_ai_input_tokens: 0,
    gen_ai_output_tokens: 0,
    redacted_count: 0,
    ...overrides,
  };
}
