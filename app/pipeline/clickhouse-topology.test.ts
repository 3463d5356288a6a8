import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAlertRulesText } from '../../processors/alerts';
import type { CorrelationPart } from '../../processors/correlate';
import {
  DEFAULT_DRAIN_SETTINGS,
  DEFAULT_PATTERN_ANOMALY_SETTINGS,
  type PatternBucket,
  type PatternRef,
} from '../../processors/patterns';
import { createRecordPipeline } from '../../processors/pipeline';
import type { Alert, LogRecord, SpanRecord } from '../../processors/records';
import { jsonSerde, stringSerde, type Serde } from '../../topology';
import { CollectingSink, TopologyTestDriver } from '../../topology/testing';
import { buildScenario, contentTypeHeader, encodeLogs, encodeSpans } from '../../test/support/otlp-fixtures';
import { buildClickHouseTopology } from './clickhouse-topology';
import type { PatternRow } from './log-patterns';
import { buildStackLensTopology, type StackLensSinks } from './stacklens-topology';

const topics = {
  logs: 'otel-logs',
  traces: 'otel-traces',
  alerts: 'stacklens-alerts',
  patterns: 'stacklens-log-patterns',
};
const rawSerde: Serde<Buffer> = {
  serialize: (value) => value,
  deserialize: (data) => data ?? Buffer.alloc(0),
};
const startMs = Date.UTC(2026, 0, 15, 10, 30);

function rowSinks() {
  return {
    logs: new CollectingSink<string, LogRecord>('otel_logs'),
    spans: new CollectingSink<string, SpanRecord>('otel_traces'),
    correlationParts: new CollectingSink<string, CorrelationPart>('stacklens_correlation_parts'),
    alerts: new CollectingSink<string, Alert>('stacklens_alerts'),
    patternRefs: new CollectingSink<string, PatternRef>('stacklens_log_pattern_refs'),
    patternBuckets: new CollectingSink<string, PatternBucket>('stacklens_log_patterns'),
  } satisfies StackLensSinks;
}

type Sinks = ReturnType<typeof rowSinks>;

/** What each sink got: key and value, in order. */
function writes(sinks: Sinks) {
  const of = <V>(sink: CollectingSink<string, V>) =>
    sink.buffered.map((w) => ({ key: w.record.key, value: w.record.value }));
  return {
    logs: of(sinks.logs),
    spans: of(sinks.spans),
    parts: of(sinks.correlationParts),
    alerts: of(sinks.alerts),
    patternRefs: of(sinks.patternRefs),
    patternBuckets: of(sinks.patternBuckets),
  };
}

/**
 * The pipeline: with `sinks` as a replay runs it (writing every row itself), without as it runs live
 * (publishing alerts and pattern rows for the ClickHouse application).
 */
function pipelineDriver(sinks?: Sinks): TopologyTestDriver {
  return new TopologyTestDriver(
    buildStackLensTopology({
      applicationId: 'sl',
      topics: { ...topics, enriched: 'stacklens-enriched' },
      records: createRecordPipeline(),
      alertRules: parseAlertRulesText(readFileSync(join(__dirname, '../../config/alert-rules.json'), 'utf8')),
      correlation: { windowMs: 60_000, graceMs: 30_000, retentionMs: 600_000 },
      serdes: { enrichedLog: jsonSerde<LogRecord>(), alert: jsonSerde<Alert>() },
      sinks,
      patterns: {
        // Short buckets, so that the scenario closes some.
        settings: {
          drain: DEFAULT_DRAIN_SETTINGS,
          anomalies: { ...DEFAULT_PATTERN_ANOMALY_SETTINGS, bucketMs: 1_000 },
          maxBodyChars: 1_024,
        },
      },
    }),
    { applicationId: 'sl' },
  );
}

/** The scenario's messages, then an undecodable one and a batch with a record normalize rejects. */
function pipeInput(driver: TopologyTestDriver): void {
  const scenario = buildScenario({ traces: 6, seed: 5, errorRate: 0.3 });
  const raw = { keySerde: jsonSerde<null>(), valueSerde: rawSerde };
  const logsIn = driver.createInputTopic<null, Buffer>(topics.logs, raw);
  const tracesIn = driver.createInputTopic<null, Buffer>(topics.traces, raw);
  for (const message of encodeSpans(scenario.spans, { encoding: 'otlp_proto', batchSize: 20 }))
    tracesIn.pipe(null, message, startMs, contentTypeHeader('otlp_proto'));
  for (const message of encodeLogs(scenario.logs, { encoding: 'otlp_json', batchSize: 25 }))
    logsIn.pipe(null, message, startMs, contentTypeHeader('otlp_json'));
  logsIn.pipe(null, Buffer.from('{"resourceLogs": [ not json'), startMs, contentTypeHeader('otlp_json'));
  const badTraceId = {
    resourceLogs: [
      {
        scopeLogs: [
          {
            logRecords: [
              { body: { stringValue: 'kept' }, traceId: '4bf92f3577b34da6a3ce929d0e0e4736' },
              { body: { stringValue: 'rejected' }, traceId: 'not-a-trace-id' },
            ],
          },
        ],
      },
    ],
  };
  logsIn.pipe(null, Buffer.from(JSON.stringify(badTraceId)), startMs, contentTypeHeader('otlp_json'));
}

describe('ClickHouse topology', () => {
  it("writes exactly the rows of the pipeline's own sinks (a replay's), skipping what the pipeline dead-letters", () => {
    const inline = rowSinks();
    const pipeline = pipelineDriver(inline);
    pipeInput(pipeline);
    const live = pipelineDriver();
    pipeInput(live);
    const alerts = live
      .createOutputTopic<string, Alert>(topics.alerts, { keySerde: stringSerde() })
      .readRecords();
    const patternRows = live
      .createOutputTopic<string, PatternRow>(topics.patterns, { keySerde: stringSerde() })
      .readRecords();

    const own = rowSinks();
    const clickhouse = new TopologyTestDriver(
      buildClickHouseTopology({
        topics,
        records: createRecordPipeline(),
        alertSerde: jsonSerde<Alert>(),
        sinks: own,
      }),
      { applicationId: 'sl-clickhouse' },
    );
    pipeInput(clickhouse);
    const alertsIn = clickhouse.createInputTopic<string, Alert>(topics.alerts, {
      keySerde: stringSerde(),
      valueSerde: jsonSerde<Alert>(),
    });
    for (const alert of alerts) alertsIn.pipe(alert.key, alert.value, alert.timestamp);
    const patternsIn = clickhouse.createInputTopic<string, PatternRow>(topics.patterns, {
      keySerde: stringSerde(),
      valueSerde: jsonSerde<PatternRow>(),
    });
    for (const row of patternRows) patternsIn.pipe(row.key, row.value, row.timestamp);

    const got = writes(own);
    expect(got.logs.length).toBeGreaterThan(0);
    expect(got.spans.length).toBeGreaterThan(0);
    expect(got.alerts.length).toBeGreaterThan(0);
    expect(got.patternRefs.length).toBeGreaterThan(0);
    expect(got.patternBuckets.length).toBeGreaterThan(0);
    expect(got.logs.map((w) => w.value.body)).toContain('kept');
    expect(got.logs.map((w) => w.value.body)).not.toContain('rejected');
    // Every log and span with a trace adds its part, keyed by its trace.
    const withTrace = [...got.logs, ...got.spans].filter((w) => w.value.trace_id !== '');
    expect(got.parts).toHaveLength(withTrace.length);
    expect(got.parts.every((w) => w.key === w.value.trace_id)).toBe(true);
    expect(got).toEqual(writes(inline));
    // The pipeline dead-letters the bad message and record once; this application does not again.
    const raw = { keySerde: jsonSerde<null>(), valueSerde: rawSerde };
    expect(pipeline.createOutputTopic(pipeline.dlqTopic, raw).readRecords()).toHaveLength(2);
    expect(clickhouse.createOutputTopic(clickhouse.dlqTopic, raw).readRecords()).toEqual([]);
    clickhouse.close();
    live.close();
    pipeline.close();
  });
});
