import { DecodeError } from '../../processors/errors';
import type { RecordPipeline } from '../../processors/pipeline';
import type { Alert } from '../../processors/records';
import {
  bufferSerde,
  jsonSerde,
  stringSerde,
  TopologyBuilder,
  type Serde,
  type Topology,
} from '../../topology';
import type { PatternRow } from './log-patterns';
import { writePatternRows, writeRecords, type StackLensSinks } from './stacklens-topology';

export interface ClickHouseTopologyOptions {
  topics: { logs: string; traces: string; alerts: string; patterns: string };
  /** The pipeline's decode → normalize → redact → enrich: the rows hold what the pipeline sees. */
  records: RecordPipeline;
  /** Value serde of the alerts topic (the registry's Avro serde when running). */
  alertSerde: Serde<Alert>;
  sinks: StackLensSinks;
}

/**
 * The ClickHouse application: every input record's rows (otel_logs, otel_traces, correlation parts),
 * every published alert's (stacklens_alerts) and the pattern miner's rows (stacklens_log_pattern_refs,
 * stacklens_log_patterns), as their own application (consumer group `${APPLICATION_ID}-clickhouse`)
 * reading the input topics, the alerts topic and the patterns topic.
 *
 * Why apart from the pipeline: the pipeline's commit waited for these inserts, the slowest part of
 * it (on chDB a dozen statements per interval), and so did every alert, which is published with that
 * commit. Apart, the pipeline commits every COMMIT_INTERVAL_MS at Kafka's pace, and this application
 * inserts larger batches every CLICKHOUSE_COMMIT_INTERVAL_MS (ClickHouse prefers fewer, larger
 * inserts). Nothing is lost or doubled: the record sinks skip what their progress ledger shows
 * inserted (keyed by the input offsets, as before), alerts and pattern rows collapse by their keys, and
 * the alerts and patterns topics are read committed, so an aborted transaction's outputs never reach
 * a table. Its own commits need no transaction: it writes nothing to Kafka.
 *
 * A message or record the pipeline dead-letters is skipped here: one DLQ entry per bad input.
 */
export function buildClickHouseTopology(options: ClickHouseTopologyOptions): Topology {
  const { records, sinks } = options;
  const builder = new TopologyBuilder();
  const raw = { keySerde: bufferSerde(), valueSerde: bufferSerde() };
  const logs = builder
    .stream<Buffer | null, Buffer | null>('clickhouse-logs-source', options.topics.logs, raw)
    .flatMapValues('decode-logs', (value, r) =>
      unlessUndecodable(() => records.logs(value, r.headers, r).records),
    )
    .selectKey('logs-key-by-trace', (r) => r.value.trace_id);
  const spans = builder
    .stream<Buffer | null, Buffer | null>('clickhouse-traces-source', options.topics.traces, raw)
    .flatMapValues('decode-spans', (value, r) =>
      unlessUndecodable(() => records.spans(value, r.headers).records),
    )
    .selectKey('spans-key-by-trace', (r) => r.value.trace_id);
  writeRecords(logs, spans, sinks);
  builder
    .stream<string, Alert>('clickhouse-alerts-source', options.topics.alerts, {
      keySerde: stringSerde(),
      valueSerde: options.alertSerde,
    })
    .toSink('alerts-to-clickhouse', sinks.alerts);
  writePatternRows(
    builder.stream<string, PatternRow>('clickhouse-patterns-source', options.topics.patterns, {
      keySerde: stringSerde(),
      valueSerde: jsonSerde<PatternRow>(),
    }),
    sinks,
  );
  return builder.build();
}

function unlessUndecodable<T>(decode: () => T[]): T[] {
  try {
    return decode();
  } catch (error) {
    if (error instanceof DecodeError) return [];
    throw error;
  }
}
