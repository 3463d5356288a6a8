import { map, type OperatorFunction } from 'rxjs';
import {
  alertLogProjection,
  evaluateCorrelation,
  initialAlertState,
  isAlertCounts,
  withAlertCounts,
  type AlertRules,
  type LogRuleInput,
} from '../../processors/alerts';
import {
  logPart,
  spanPart,
  toCorrelationLog,
  toCorrelationSpan,
  type CorrelationPart,
} from '../../processors/correlate';
import type { RecordError } from '../../processors/errors';
import type { RecordPipeline } from '../../processors/pipeline';
import { patternLogProjection, type PatternBucket, type PatternRef } from '../../processors/patterns';
import type { Alert, Correlation, LogRecord, SpanRecord } from '../../processors/records';
import {
  bufferSerde,
  HEADER,
  TopologyDefinitionError,
  jsonSerde,
  keyValueStoreSpec,
  stringSerde,
  TopologyBuilder,
  type KStream,
  type Serde,
  type Sink,
  type StreamRecord,
  type Topology,
} from '../../topology';
import type { CorrelationInput } from './correlation-input';
import {
  correlationLogSerde,
  correlationSpanSerde,
  logRuleInputSerde,
  patternLogSerde,
} from './internal-serdes';
import { LOG_ALERT_STATE_STORE, LogAlertRules } from './log-alerts';
import {
  LOG_PATTERN_MINERS_STORE,
  LOG_PATTERN_STATS_STORE,
  LogPatternMiner,
  logPatternStoreSpecs,
  type LogPatternSettings,
  type PatternOutput,
  type PatternRow,
} from './log-patterns';
import {
  correlationCheckIntervalMs,
  TRACE_CORRELATIONS_STORE,
  traceCorrelationsStoreSpec,
  TraceCorrelator,
} from './trace-correlator';

export interface StackLensTopics {
  logs: string;
  traces: string;
  enriched: string;
  alerts: string;
  /** The pattern miner's rows (PatternRow, JSON), which the ClickHouse application writes. */
  patterns: string;
}

export interface StackLensTopologyOptions {
  applicationId: string;
  topics: StackLensTopics;
  /** decode → normalize → redact → enrich, for one input message. */
  records: RecordPipeline;
  alertRules: AlertRules;
  correlation: { windowMs: number; graceMs: number; retentionMs: number };
  serdes: { enrichedLog: Serde<LogRecord>; alert: Serde<Alert> };
  /**
   * The rows of each record, alert and mined pattern, written by this topology (a replay, which may
   * write alerts it does not publish); absent in the live pipeline, whose ClickHouse application
   * (./clickhouse-topology.ts) writes them from the input, alerts and patterns topics.
   */
  sinks?: StackLensSinks;
  /**
   * Log pattern mining per service (Drain) with its anomaly alerts; absent: no mining. Its rows (each
   * line's pattern, each pattern's closed buckets) go to `sinks` when given, else to `topics.patterns`.
   */
  patterns?: { settings: LogPatternSettings };
  /** Called with the number of values PII redaction replaced in each message (for a counter). */
  onRedacted?: (count: number) => void;
  /** Bound of the per-task trace store: open traces plus those kept for late updates. */
  maxOpenTraces?: number;
  /**
   * Which output topics are written (both by default). A replay turns them off: the enriched
   * records and alerts of the replayed range were already published; ClickHouse gets everything.
   */
  outputs?: { enrichedTopic?: boolean; alertsTopic?: boolean };
}

/** The ClickHouse rows of every log and span: otel_logs, otel_traces and their correlation parts. */
export interface RecordSinks {
  logs: Sink<string, LogRecord>;
  spans: Sink<string, SpanRecord>;
  /** What each log and span adds to its trace's correlation (stacklens_correlation_parts). */
  correlationParts: Sink<string, CorrelationPart>;
}

/** The ClickHouse rows of the pattern miner: stacklens_log_pattern_refs and stacklens_log_patterns. */
export interface PatternSinks {
  patternRefs: Sink<string, PatternRef>;
  patternBuckets: Sink<string, PatternBucket>;
}

/** What the pipeline's outputs become in ClickHouse. */
export interface StackLensSinks extends RecordSinks, PatternSinks {
  alerts: Sink<string, Alert>;
}

type Raw = Buffer | null;
type Decoded<T> = { ok: T } | { error: RecordError };
/** A decoded batch of logs also gives the log rules their inputs (withAlertCounts). */
type DecodedLogItem = Decoded<LogRecord> | { rule: LogRuleInput };

/**
 * The StackLens pipeline as a topology:
 *
 *   otel-logs   → decode/normalize/redact/enrich → stacklens-enriched
 *                 ├→ by service  → [repartition] → match/threshold alert rules ─┐
 *                 │  (per batch: the logs that may raise an alert, counts of the others)
 *                 └→ by trace_id → [repartition] ─┐                             ├→ stacklens-alerts
 *   otel-traces → decode/…                        │                             │
 *                 └→ by trace_id → [repartition] ─┴→ trace correlator → trace alert rules
 *
 * Each record's rows (otel_logs, otel_traces and its correlation part, see writeRecords) and each
 * alert's (stacklens_alerts) are written by the ClickHouse application from the input and alerts
 * topics (./clickhouse-topology.ts), or here with `sinks` (a replay). A trace's correlation is the
 * merge of its parts in ClickHouse (the stacklens_correlations view): every record adds its part,
 * late or not, whatever the correlator still holds. The correlator decides when a trace is complete
 * enough to evaluate the trace alert rules on.
 *
 * A record of a batch that cannot be normalized goes to the DLQ with its reason; the rest of its
 * batch flows on. A whole message that cannot be decoded throws, and the runtime dead-letters it.
 */
export function buildStackLensTopology(options: StackLensTopologyOptions): Topology {
  const { topics, records, sinks } = options;
  if (sinks === undefined && options.outputs?.alertsTopic === false) {
    throw new TopologyDefinitionError('alerts must go to the alerts topic or to a ClickHouse sink');
  }
  const builder = new TopologyBuilder();
  const raw = { keySerde: bufferSerde(), valueSerde: bufferSerde() };
  const dlqTopic = `${options.applicationId}-dlq`;

  const forAlertRules = alertLogProjection(options.alertRules);
  const decodedLogItems = builder
    .stream<Raw, Raw>('otel-logs-source', topics.logs, raw)
    .flatMapValues('decode-logs', (value, record): DecodedLogItem[] => {
      const result = records.logs(value, record.headers, record);
      options.onRedacted?.(result.redacted);
      const items: DecodedLogItem[] = decodedBatch(result.records, result.errors);
      for (const input of withAlertCounts(options.alertRules, result.records)) {
        items.push({ rule: isAlertCounts(input) ? input : forAlertRules(input) });
      }
      return items;
    });
  const [ruleInputItems, decodedLogs] = decodedLogItems.branch(
    'logs-split-rule-inputs',
    (r) => 'rule' in r.value,
    () => true,
  );
  // The branch holds only Decoded items (the predicate above took the others).
  const logs = withoutBadRecords(decodedLogs as KStream<Raw, Decoded<LogRecord>>, 'logs', dlqTopic).pipe<
    Raw,
    LogRecord
  >(
    'logs-event-time',
    eventTime((log) => log.time_ms),
  );

  const decodedSpans = builder
    .stream<Raw, Raw>('otel-traces-source', topics.traces, raw)
    .flatMapValues('decode-spans', (value, record): Decoded<SpanRecord>[] => {
      const result = records.spans(value, record.headers);
      options.onRedacted?.(result.redacted);
      return decodedBatch(result.records, result.errors);
    });
  const spans = withoutBadRecords(decodedSpans, 'spans', dlqTopic).pipe<Raw, SpanRecord>(
    'spans-event-time',
    eventTime((span) => span.start_ms),
  );

  const logsByTrace = logs.selectKey('logs-key-by-trace', (r) => r.value.trace_id);
  const spansByTrace = spans.selectKey('spans-key-by-trace', (r) => r.value.trace_id);
  if (sinks !== undefined) writeRecords(logsByTrace, spansByTrace, sinks);
  if (options.outputs?.enrichedTopic !== false) {
    logsByTrace.to('logs-to-enriched-topic', topics.enriched, {
      keySerde: stringSerde(),
      valueSerde: options.serdes.enrichedLog,
    });
  }

  // Log rules: per service, so each service's counters live in one task. The repartition topics carry
  // only what the sub-topology reading them uses, in a compact binary form (internal-serdes.ts).
  builder.addStateStore(
    keyValueStoreSpec(LOG_ALERT_STATE_STORE, { keySerde: stringSerde(), maxEntries: 10_000 }),
  );
  const logAlerts = ruleInputItems!
    .map<string, LogRuleInput>('rule-inputs-by-service', (r) => {
      const input = (r.value as { rule: LogRuleInput }).rule;
      return { key: input.service, value: input };
    })
    .pipe<string, LogRuleInput>(
      'rule-inputs-event-time',
      eventTime((input) => (isAlertCounts(input) ? input.counts.time_ms : input.time_ms)),
    )
    .repartition('logs-by-service', { keySerde: stringSerde(), valueSerde: logRuleInputSerde() })
    .process<string, Alert>('log-alert-rules', () => new LogAlertRules(options.alertRules, 10_000), {
      stores: [LOG_ALERT_STATE_STORE],
    });
  writeAlerts(logAlerts, 'log-alerts', options);
  if (options.patterns !== undefined) mineLogPatterns(builder, logs, options.patterns, options);

  // The windowed join of logs and spans by trace_id, for the trace alert rules.
  const correlationLogs = logsByTrace
    .filter('logs-with-trace', (r) => r.value.trace_id !== '')
    .mapValues('logs-for-correlation', (log) => toCorrelationLog(log));
  const correlationSpans = spansByTrace
    .filter('spans-with-trace', (r) => r.value.trace_id !== '')
    .mapValues('spans-for-correlation', (span) => toCorrelationSpan(span));
  const logInputs = correlationLogs
    .repartition('logs-by-trace', { keySerde: stringSerde(), valueSerde: correlationLogSerde() })
    .mapValues<CorrelationInput>('logs-as-correlation-input', (log) => ({ kind: 'log', log }));
  const spanInputs = correlationSpans
    .repartition('spans-by-trace', { keySerde: stringSerde(), valueSerde: correlationSpanSerde() })
    .mapValues<CorrelationInput>('spans-as-correlation-input', (span) => ({ kind: 'span', span }));
  builder.addStateStore(traceCorrelationsStoreSpec(options.maxOpenTraces ?? 200_000));
  const { windowMs, graceMs, retentionMs } = options.correlation;
  const correlations = logInputs.merge('correlation-inputs', spanInputs).process<string, Correlation>(
    'correlate-traces',
    () =>
      new TraceCorrelator({
        windowMs,
        graceMs,
        retentionMs,
        checkIntervalMs: correlationCheckIntervalMs(windowMs),
      }),
    { stores: [TRACE_CORRELATIONS_STORE] },
  );
  const traceAlerts = correlations.flatMap<string, Alert>(
    'trace-alert-rules',
    // Stateless: a trace rule's alert id is its rule's and trace's, so a re-emitted correlation
    // updates its alert (consumers upsert by id) instead of adding one.
    (r) => evaluateCorrelation(options.alertRules, initialAlertState(), r.value).alerts.map(keyedByAlertId),
  );
  writeAlerts(traceAlerts, 'trace-alerts', options);

  return builder.build();
}

/**
 * Per service: Drain templates, each line's pattern, bucket counts and the anomalies' alerts. The
 * miner needs every line (the log rules' repartition carries only the logs that may raise an alert and
 * counts of the others), so its lines take a repartition of their own, with only the fields it reads
 * and at most `maxBodyChars` of the body.
 */
function mineLogPatterns(
  builder: TopologyBuilder,
  logs: KStream<Raw, LogRecord>,
  patterns: NonNullable<StackLensTopologyOptions['patterns']>,
  options: StackLensTopologyOptions,
): void {
  for (const spec of logPatternStoreSpecs(patterns.settings)) builder.addStateStore(spec);
  const logsByService = logs
    .selectKey('logs-key-by-service-for-patterns', (r) => r.value.service)
    .mapValues('logs-for-patterns', patternLogProjection(patterns.settings.maxBodyChars))
    .repartition('pattern-logs-by-service', { keySerde: stringSerde(), valueSerde: patternLogSerde() });
  const outputs = logsByService.process<string, PatternOutput>(
    'log-pattern-miner',
    () => new LogPatternMiner(patterns.settings),
    { stores: [LOG_PATTERN_MINERS_STORE, LOG_PATTERN_STATS_STORE] },
  );
  const [rows, alerts] = outputs.branch(
    'log-pattern-outputs',
    (r) => r.value.kind !== 'alert',
    () => true,
  );
  const patternRows = rows!.mapValues('log-pattern-rows', (v) => v as PatternRow);
  // Live, the rows travel to the ClickHouse application with the pipeline's transaction, so its
  // commit never waits for ClickHouse (alert latency); a replay, which has the sinks, writes them.
  if (options.sinks !== undefined) writePatternRows(patternRows, options.sinks);
  else
    patternRows.to('log-pattern-rows-to-topic', options.topics.patterns, {
      keySerde: stringSerde(),
      valueSerde: jsonSerde<PatternRow>(),
    });
  writeAlerts(
    alerts!.mapValues('log-pattern-alert', (v) => (v as Extract<PatternOutput, { kind: 'alert' }>).alert),
    'log-pattern-alerts',
    options,
  );
}

/**
 * Materializes every record, with or without a partner: its row, and its part of its trace's
 * correlation. Parts are written where the record is read: keyed by the record, a part written again
 * (replay, retry) collapses with the first. The live pipeline's ClickHouse application and a replay
 * both write them here, so their rows cannot differ.
 */
export function writeRecords(
  logs: KStream<string, LogRecord>,
  spans: KStream<string, SpanRecord>,
  sinks: RecordSinks,
): void {
  logs.toSink('logs-to-clickhouse', sinks.logs);
  spans.toSink('spans-to-clickhouse', sinks.spans);
  logs
    .filter('logs-with-trace-for-parts', (r) => r.value.trace_id !== '')
    .mapValues('log-correlation-parts', (log) => logPart(toCorrelationLog(log)))
    .toSink('log-parts-to-clickhouse', sinks.correlationParts);
  spans
    .filter('spans-with-trace-for-parts', (r) => r.value.trace_id !== '')
    .mapValues('span-correlation-parts', (span) => spanPart(toCorrelationSpan(span)))
    .toSink('span-parts-to-clickhouse', sinks.correlationParts);
}

/**
 * Writes the pattern miner's rows: the ClickHouse application (from `stacklens-log-patterns`) and a
 * replay (from the miner) both write them here. Both tables collapse a row written again.
 */
export function writePatternRows(rows: KStream<string, PatternRow>, sinks: PatternSinks): void {
  const [refs, buckets] = rows.branch(
    'pattern-rows-split',
    (r) => r.value.kind === 'ref',
    () => true,
  );
  refs!
    .mapValues('log-pattern-refs', (v) => (v as Extract<PatternRow, { kind: 'ref' }>).ref)
    .toSink('log-pattern-refs-to-clickhouse', sinks.patternRefs);
  buckets!
    .mapValues('log-pattern-buckets', (v) => (v as Extract<PatternRow, { kind: 'bucket' }>).bucket)
    .toSink('log-pattern-buckets-to-clickhouse', sinks.patternBuckets);
}

function decodedBatch<T>(good: T[], bad: RecordError[]): Decoded<T>[] {
  const out: Decoded<T>[] = good.map((ok) => ({ ok }));
  for (const error of bad) out.push({ error });
  return out;
}

/** Routes the records a batch could not normalize to the DLQ, with the reason in headers. */
function withoutBadRecords<T>(
  decoded: KStream<Raw, Decoded<T>>,
  signal: string,
  dlqTopic: string,
): KStream<Raw, T> {
  const [good, bad] = decoded.branch(
    `${signal}-split-bad-records`,
    (r) => 'ok' in r.value,
    () => true,
  );
  bad!
    .pipe<Raw, Raw>(
      `${signal}-bad-record-to-dlq-format`,
      map((r) => {
        const { error } = r.value as { error: RecordError };
        const reason = JSON.stringify(error);
        return {
          ...r,
          value: Buffer.from(reason),
          headers: {
            ...r.headers,
            [HEADER.error]: reason,
            [HEADER.errorType]: 'RecordError',
            [HEADER.sourceTopic]: r.topic,
            [HEADER.sourcePartition]: String(r.partition),
            [HEADER.sourceOffset]: r.offset,
          },
        };
      }),
    )
    .to(`${signal}-bad-records-to-dlq`, dlqTopic, { keySerde: bufferSerde(), valueSerde: bufferSerde() });
  return good!.mapValues<T>(`${signal}-unwrap`, (value) => (value as { ok: T }).ok);
}

function writeAlerts(
  alerts: KStream<string, Alert>,
  name: string,
  options: Pick<StackLensTopologyOptions, 'topics' | 'serdes' | 'sinks' | 'outputs'>,
): void {
  if (options.sinks !== undefined) alerts.toSink(`${name}-to-clickhouse`, options.sinks.alerts);
  if (options.outputs?.alertsTopic === false) return;
  alerts.to(`${name}-to-topic`, options.topics.alerts, {
    keySerde: stringSerde(),
    valueSerde: options.serdes.alert,
  });
}

function keyedByAlertId(alert: Alert): { key: string; value: Alert } {
  return { key: alert.id, value: alert };
}

/**
 * How far ahead of this host's clock a record's timestamp may be. Kafka refuses a message stamped
 * more than `message.timestamp.after.max.ms` ahead of the broker's clock (1 hour by default since
 * Kafka 4.0), and one refused output fails the whole transaction, whose replay fails the same way:
 * a producer with a skewed clock, or a hostile record dated 2200, would stop the pipeline for good.
 */
const MAX_FUTURE_TIMESTAMP_MS = 30 * 60_000;

/**
 * Sets a record's timestamp to its event time (keeping the Kafka timestamp when it is unknown),
 * capped at MAX_FUTURE_TIMESTAMP_MS past now: windows then see a future-dated record as arriving now,
 * while its fields (what ClickHouse stores) keep the time it claims.
 */
function eventTime<K, T>(of: (value: T) => number): OperatorFunction<StreamRecord<K, T>, StreamRecord<K, T>> {
  return map((r) => {
    const ms = of(r.value);
    return ms > 0 ? { ...r, timestamp: Math.min(ms, Date.now() + MAX_FUTURE_TIMESTAMP_MS) } : r;
  });
}
