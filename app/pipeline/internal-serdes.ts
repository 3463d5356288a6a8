import avro from 'avsc';
import { isAlertCounts, type AlertLog, type LogRuleInput } from '../../processors/alerts';
import type { CorrelationLog, CorrelationSpan } from '../../processors/correlate';
import type { PatternLog } from '../../processors/patterns';
import { DeserializationError, type Serde } from '../../topology';

/**
 * Serdes of the pipeline's repartition topics (logs-by-service, logs-by-trace, spans-by-trace). These
 * topics are private to the application, written and read by the same code, so they carry plain Avro
 * binary without a schema registry, and only the fields the reading sub-topology needs (the projections
 * toCorrelationLog, toCorrelationSpan and alertLogProjection are applied before the repartition).
 *
 * Every value starts with one format version byte. A reader meeting a version it does not know (a
 * repartition topic left by another StackLens version across a restart, or the JSON of the versions
 * before this format, which starts with `{`) throws a DeserializationError: the runtime dead-letters the
 * record with that reason instead of misreading it. A change of a topic's schema takes a new version.
 */
export const INTERNAL_FORMAT_VERSION = 1;
/** logs-by-service: version 2 carries alert-count summaries beside the logs (version 1: logs only). */
export const LOG_RULE_INPUT_FORMAT_VERSION = 2;

const NAMESPACE = 'io.stacklens.internal.v1';

const string = (name: string) => ({ name, type: 'string' as const });
const attributes = (name: string) => ({ name, type: { type: 'map' as const, values: 'string' } });

const correlationLogType = avro.Type.forSchema({
  type: 'record',
  name: 'CorrelationLog',
  namespace: NAMESPACE,
  fields: [
    string('id'),
    string('trace_id'),
    string('time_unix_nano'),
    { name: 'severity_number', type: 'int' },
    string('service'),
    string('body'),
    string('error_code'),
  ],
});

const correlationSpanType = avro.Type.forSchema({
  type: 'record',
  name: 'CorrelationSpan',
  namespace: NAMESPACE,
  fields: [
    string('trace_id'),
    string('span_id'),
    string('parent_span_id'),
    string('name'),
    string('service'),
    string('start_time_unix_nano'),
    string('end_time_unix_nano'),
    { name: 'status_code', type: { type: 'enum', name: 'StatusCode', symbols: ['Unset', 'Ok', 'Error'] } },
    string('status_message'),
    string('error_code'),
    { name: 'gen_ai_input_tokens', type: 'long' },
    { name: 'gen_ai_output_tokens', type: 'long' },
    {
      name: 'events',
      type: {
        type: 'array',
        items: {
          type: 'record',
          name: 'SpanEvent',
          fields: [string('name'), string('time_unix_nano'), attributes('attributes')],
        },
      },
    },
  ],
});

const alertLogType = avro.Type.forSchema({
  type: 'record',
  name: 'AlertLog',
  namespace: NAMESPACE,
  fields: [
    string('id'),
    { name: 'time_ms', type: 'long' },
    { name: 'severity_number', type: 'int' },
    string('severity_text'),
    string('body'),
    string('service'),
    string('env'),
    string('error_code'),
    string('trace_id'),
    string('workflow_id'),
    string('circuit_id'),
    string('product_id'),
    string('resource_id'),
    string('resource_type_id'),
    string('request_id'),
    attributes('log_attributes'),
    attributes('resource_attributes'),
  ],
});

const alertCountsType = avro.Type.forSchema({
  type: 'record',
  name: 'ServiceAlertCounts',
  namespace: NAMESPACE,
  fields: [
    string('service'),
    {
      name: 'counts',
      type: {
        type: 'record',
        name: 'AlertCounts',
        fields: [
          { name: 'time_ms', type: 'long' },
          {
            name: 'buckets',
            type: {
              type: 'array',
              items: {
                type: 'record',
                name: 'AlertCountBucket',
                fields: [
                  string('rule_id'),
                  string('group'),
                  { name: 'start_ms', type: 'long' },
                  { name: 'count', type: 'int' },
                ],
              },
            },
          },
        ],
      },
    },
  ],
});

/** One of the two, as a record with one non-null field (avsc reads a ["null", T] union unwrapped). */
const logRuleInputType = avro.Type.forSchema({
  type: 'record',
  name: 'LogRuleInput',
  namespace: NAMESPACE,
  fields: [
    { name: 'log', type: ['null', alertLogType.schema()], default: null },
    { name: 'counts', type: ['null', alertCountsType.schema()], default: null },
  ],
} as avro.Schema);

/** Where values are encoded before being copied out; grown (never shrunk) when a value does not fit. */
let scratch = Buffer.allocUnsafe(64 * 1024);

function versionedAvroSerde<T>(
  type: avro.Type,
  what: string,
  formatVersion = INTERNAL_FORMAT_VERSION,
): Serde<T> {
  return {
    serialize: (value) => {
      if (value === null || value === undefined) return null;
      scratch[0] = formatVersion;
      let end = type.encode(value, scratch, 1);
      if (end < 0) {
        // avsc returns minus the number of bytes that did not fit.
        scratch = Buffer.allocUnsafe(Math.max(scratch.length - end, scratch.length * 2));
        scratch[0] = formatVersion;
        end = type.encode(value, scratch, 1);
      }
      return Buffer.from(scratch.subarray(0, end));
    },
    deserialize: (data) => {
      if (data === null || data.length === 0) {
        throw new DeserializationError(`${what}: empty value (the internal topics carry no tombstones)`);
      }
      const version = data[0]!;
      if (version !== formatVersion) {
        const hint =
          version === 0x7b ? ' (JSON: written by a StackLens before the binary internal format)' : '';
        throw new DeserializationError(
          `${what}: internal format version ${version}${hint} cannot be read; this version reads ${formatVersion}`,
        );
      }
      let decoded: { value: unknown; offset: number };
      try {
        decoded = type.decode(data, 1);
      } catch (cause) {
        throw new DeserializationError(`${what}: invalid Avro: ${(cause as Error).message}`, { cause });
      }
      if (decoded.offset !== data.length) {
        throw new DeserializationError(
          `${what}: ${decoded.offset < 0 ? 'truncated value' : `${data.length - decoded.offset} bytes after the value`} (${data.length} bytes)`,
        );
      }
      return decoded.value as T;
    },
  };
}

const patternLogType = avro.Type.forSchema({
  type: 'record',
  name: 'PatternLog',
  namespace: NAMESPACE,
  fields: [
    string('id'),
    { name: 'time_ms', type: 'long' },
    string('trace_id'),
    string('service'),
    { name: 'severity_number', type: 'int' },
    string('body'),
  ],
});

/** Logs on `pattern-logs-by-service`: the fields of patternLogProjection. */
export function patternLogSerde(): Serde<PatternLog> {
  return versionedAvroSerde<PatternLog>(patternLogType, 'pattern log');
}

/** Logs on `logs-by-trace`: the fields of toCorrelationLog. */
export function correlationLogSerde(): Serde<CorrelationLog> {
  return versionedAvroSerde<CorrelationLog>(correlationLogType, 'correlation log');
}

/** Spans on `spans-by-trace`: the fields of toCorrelationSpan. */
export function correlationSpanSerde(): Serde<CorrelationSpan> {
  return versionedAvroSerde<CorrelationSpan>(correlationSpanType, 'correlation span');
}

/**
 * Items on `logs-by-service`: a log that may raise an alert (the fields of alertLogProjection) or a
 * summary of a service's other logs (processors/alerts/counts.ts).
 */
export function logRuleInputSerde(): Serde<LogRuleInput> {
  const serde = versionedAvroSerde<{ log: AlertLog | null; counts: unknown }>(
    logRuleInputType,
    'log rule input',
    LOG_RULE_INPUT_FORMAT_VERSION,
  );
  return {
    serialize: (value) =>
      value === null || value === undefined
        ? null
        : serde.serialize(isAlertCounts(value) ? { log: null, counts: value } : { log: value, counts: null }),
    deserialize: (data) => {
      const { log, counts } = serde.deserialize(data) as {
        log: AlertLog | null;
        counts: LogRuleInput | null;
      };
      const item = log ?? counts;
      if (item === null) throw new DeserializationError('log rule input: neither a log nor counts');
      return item;
    },
  };
}
