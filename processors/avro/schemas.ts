import avro from 'avsc';

/**
 * Avro schemas of what StackLens publishes (namespace io.stacklens). Field names and shapes are those of the
 * records in processors/records.ts, so a record is written as is (no mapping step).
 * - Times keep full nanosecond precision as decimal strings (`*_unix_nano`); a `*_ms` long with
 *   logicalType timestamp-millis sits next to them for consumers that want a native timestamp
 *   (avsc, without logical type hooks, reads it as a plain number).
 * - Attribute maps are map<string>.
 * - Alert mirrors the seeds' alert event (created_at stays an ISO-8601 string, as in the JSON event).
 * These objects are the source of truth; schemas/*.avsc are their JSON, checked by a unit test.
 */

const NAMESPACE = 'io.stacklens';

type Field = { name: string; type: unknown; doc?: string; default?: unknown };

const string = (name: string, doc?: string): Field => ({ name, type: 'string', ...(doc ? { doc } : {}) });
const int = (name: string, doc?: string): Field => ({ name, type: 'int', ...(doc ? { doc } : {}) });
const long = (name: string, doc?: string): Field => ({ name, type: 'long', ...(doc ? { doc } : {}) });
const millis = (name: string, doc: string): Field => ({
  name,
  type: { type: 'long', logicalType: 'timestamp-millis' },
  doc,
});
const attributes = (name: string): Field => ({ name, type: { type: 'map', values: 'string' } });

const customAttributes: Field[] = [
  string('service', 'OTel service.name'),
  string('env', 'deployment.environment(.name)'),
  string('workflow_id'),
  string('circuit_id'),
  string('product_id'),
  string('resource_id'),
  string('resource_type_id'),
  string('request_id'),
];

const enrichment: Field[] = [
  string('error_code', "classified error code, '' when not an error"),
  long('gen_ai_input_tokens'),
  long('gen_ai_output_tokens'),
  int('redacted_count', 'values replaced by PII redaction'),
];

export const ENRICHED_LOG_SCHEMA = {
  type: 'record',
  name: 'EnrichedLog',
  namespace: NAMESPACE,
  doc: 'A normalized, redacted and enriched OpenTelemetry log record',
  fields: [
    string('id', 'deterministic: topic:partition:offset:index of the source record'),
    string('source', 'input encoding: otlp_proto | otlp_json | raw | text, or json_log'),
    string('time_unix_nano', 'event time, unix ns as a decimal string'),
    string('observed_time_unix_nano', 'unix ns as a decimal string'),
    millis('time_ms', 'event time in ms'),
    string('trace_id', "32 lowercase hex chars, '' when absent"),
    string('span_id', "16 lowercase hex chars, '' when absent"),
    int('trace_flags'),
    int('severity_number', 'OTel severity 0..24'),
    string('severity_text'),
    string('body'),
    {
      name: 'event_name',
      type: 'string',
      doc: "OTLP event_name, '' for a plain log (defaulted: readers of the previous schema keep working)",
      default: '',
    },
    string('resource_schema_url'),
    attributes('resource_attributes'),
    string('scope_name'),
    string('scope_version'),
    string('scope_schema_url'),
    attributes('scope_attributes'),
    attributes('log_attributes'),
    ...customAttributes,
    ...enrichment,
  ],
} as const;

export const ENRICHED_SPAN_SCHEMA = {
  type: 'record',
  name: 'EnrichedSpan',
  namespace: NAMESPACE,
  doc: 'A normalized, redacted and enriched OpenTelemetry span',
  fields: [
    string('trace_id'),
    string('span_id'),
    string('parent_span_id', "'' for a root span"),
    string('trace_state'),
    string('name'),
    string('kind', 'Unspecified | Internal | Server | Client | Producer | Consumer'),
    string('start_time_unix_nano'),
    string('end_time_unix_nano'),
    string('duration_ns'),
    millis('start_ms', 'start time in ms'),
    long('duration_ms'),
    string('status_code', 'Unset | Ok | Error'),
    string('status_message'),
    string('resource_schema_url'),
    attributes('resource_attributes'),
    string('scope_name'),
    string('scope_version'),
    attributes('scope_attributes'),
    attributes('span_attributes'),
    {
      name: 'events',
      type: {
        type: 'array',
        items: {
          type: 'record',
          name: 'SpanEvent',
          fields: [string('time_unix_nano'), string('name'), attributes('attributes')],
        },
      },
    },
    {
      name: 'links',
      type: {
        type: 'array',
        items: {
          type: 'record',
          name: 'SpanLink',
          fields: [string('trace_id'), string('span_id'), string('trace_state'), attributes('attributes')],
        },
      },
    },
    ...customAttributes,
    ...enrichment,
  ],
} as const;

export const ALERT_SCHEMA = {
  type: 'record',
  name: 'Alert',
  namespace: NAMESPACE,
  doc: 'Alert event published on stacklens-alerts (seeds alert event format)',
  fields: [
    string('id', 'deterministic UUID of rule + dedup key + window; updates of an alert reuse it'),
    string('issue_code'),
    { name: 'severity', type: { type: 'enum', name: 'AlertSeverity', symbols: ['error', 'warn', 'info'] } },
    string('message'),
    string('suggested_fix'),
    { name: 'confidence', type: 'double', doc: '0..1' },
    { name: 'automation_possible', type: 'boolean' },
    { name: 'automation_action', type: ['null', 'string'], default: null },
    { name: 'related_trace_id', type: ['null', 'string'], default: null },
    { name: 'related_logs', type: { type: 'array', items: 'string' } },
    string('created_at', 'ISO-8601 UTC event time of the triggering record'),
    string('created_by'),
    string('rule_id'),
    string('service'),
    int('count', 'occurrences this alert stands for; the highest count of an id is the latest'),
    string('window_start', 'ISO-8601 start of the dedup window'),
  ],
} as const;

/** Compiled avsc types; `toBuffer(record)` accepts the records of processors/records.ts as they are. */
export const enrichedLogType = avro.Type.forSchema(
  ENRICHED_LOG_SCHEMA as unknown as avro.Schema,
) as avro.Type;
export const enrichedSpanType = avro.Type.forSchema(
  ENRICHED_SPAN_SCHEMA as unknown as avro.Schema,
) as avro.Type;
export const alertType = avro.Type.forSchema(ALERT_SCHEMA as unknown as avro.Schema) as avro.Type;
