import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAlertRulesText } from '../../processors/alerts';
import { createRecordPipeline } from '../../processors/pipeline';
import {
  DEFAULT_DRAIN_SETTINGS,
  DEFAULT_PATTERN_ANOMALY_SETTINGS,
  type PatternBucket,
  type PatternRef,
} from '../../processors/patterns';
import type { CorrelationPart } from '../../processors/correlate';
import type { Alert, LogRecord, SpanRecord } from '../../processors/records';
import { HEADER, jsonSerde, repartitionTopicName, stringSerde, type Serde } from '../../topology';
import { CollectingSink, TopologyTestDriver } from '../../topology/testing';
import {
  buildScenario,
  contentTypeHeader,
  contractLogMessage,
  encodeLogs,
  encodeSpans,
} from '../../test/support/otlp-fixtures';
import type { LogPatternSettings } from './log-patterns';
import { buildStackLensTopology } from './stacklens-topology';

const topics = {
  logs: 'otel-logs',
  traces: 'otel-traces',
  enriched: 'stacklens-enriched',
  alerts: 'stacklens-alerts',
  patterns: 'stacklens-log-patterns',
};
const WINDOW_MS = 60_000;
const GRACE_MS = 30_000;

const patternSettings: LogPatternSettings = {
  drain: DEFAULT_DRAIN_SETTINGS,
  anomalies: { ...DEFAULT_PATTERN_ANOMALY_SETTINGS, bucketMs: 10_000 },
  maxBodyChars: 1_024,
};

function pipeline(options: { patterns?: boolean } = {}) {
  const patternSinks = {
    refs: new CollectingSink<string, PatternRef>('stacklens_log_pattern_refs'),
    buckets: new CollectingSink<string, PatternBucket>('stacklens_log_patterns'),
  };
  const sinks = {
    logs: new CollectingSink<string, LogRecord>('otel_logs'),
    spans: new CollectingSink<string, SpanRecord>('otel_traces'),
    correlationParts: new CollectingSink<string, CorrelationPart>('stacklens_correlation_parts'),
    alerts: new CollectingSink<string, Alert>('stacklens_alerts'),
    patternRefs: patternSinks.refs,
    patternBuckets: patternSinks.buckets,
  };
  let redacted = 0;
  const topology = buildStackLensTopology({
    applicationId: 'sl',
    topics,
    records: createRecordPipeline(),
    alertRules: parseAlertRulesText(readFileSync(join(__dirname, '../../config/alert-rules.json'), 'utf8')),
    correlation: { windowMs: WINDOW_MS, graceMs: GRACE_MS, retentionMs: 10 * WINDOW_MS },
    serdes: { enrichedLog: jsonSerde<LogRecord>(), alert: jsonSerde<Alert>() },
    // The records' rows in the same topology, as a replay writes them (the live pipeline leaves them
    // to the ClickHouse application: clickhouse-topology.test.ts).
    sinks,
    patterns: options.patterns === true ? { settings: patternSettings } : undefined,
    onRedacted: (n) => (redacted += n),
  });
  const driver = new TopologyTestDriver(topology, { applicationId: 'sl' });
  const raw = { keySerde: jsonSerde<null>(), valueSerde: rawSerde };
  return {
    driver,
    sinks,
    patternSinks,
    redacted: () => redacted,
    logsIn: driver.createInputTopic<null, Buffer>(topics.logs, raw),
    tracesIn: driver.createInputTopic<null, Buffer>(topics.traces, raw),
    enriched: driver.createOutputTopic<string, LogRecord>(topics.enriched, { keySerde: stringSerde() }),
    alerts: driver.createOutputTopic<string, Alert>(topics.alerts, { keySerde: stringSerde() }),
    dlq: driver.createOutputTopic<null, Buffer>(driver.dlqTopic, raw),
  };
}

const rawSerde: Serde<Buffer> = {
  serialize: (value) => value,
  deserialize: (data) => data ?? Buffer.alloc(0),
};

function written<V>(sink: CollectingSink<string, V>): V[] {
  return sink.buffered.map((w) => w.record.value);
}

/** The parts written per trace (what the stacklens_correlations view merges). */
function partsByTrace(sink: CollectingSink<string, CorrelationPart>): Map<string, CorrelationPart[]> {
  const byTrace = new Map<string, CorrelationPart[]>();
  for (const part of written(sink)) byTrace.set(part.trace_id, [...(byTrace.get(part.trace_id) ?? []), part]);
  return byTrace;
}

const TRACE_RULES = new Set(['slow-trace', 'trace-error']);

/** The trace rules' alerts written so far. */
function traceAlerts(sink: CollectingSink<string, Alert>): Alert[] {
  return written(sink).filter((a) => TRACE_RULES.has(a.rule_id));
}

describe('StackLens topology', () => {
  const scenario = buildScenario({ traces: 12, seed: 3, errorRate: 0.3 });
  /** Kafka timestamp of the input messages (the scenario's own default start). */
  const startMs = Date.UTC(2026, 0, 15, 10, 30);

  function pipeScenario(p: ReturnType<typeof pipeline>): void {
    for (const message of encodeSpans(scenario.spans, { encoding: 'otlp_proto', batchSize: 20 })) {
      p.tracesIn.pipe(null, message, startMs, contentTypeHeader('otlp_proto'));
    }
    for (const message of encodeLogs(scenario.logs, { encoding: 'otlp_json', batchSize: 25 })) {
      p.logsIn.pipe(null, message, startMs, contentTypeHeader('otlp_json'));
    }
  }

  /** A record far enough in event time to close every window of the scenario. */
  function advanceStreamTime(p: ReturnType<typeof pipeline>, toMs: number): void {
    const spans = buildScenario({ traces: 1, seed: 99, startMs: toMs, errorRate: 0 }).spans;
    for (const message of encodeSpans(spans, { encoding: 'otlp_proto' }))
      p.tracesIn.pipe(null, message, toMs);
  }

  it('stamps a record dated far in the future no later than 30 minutes from now, keeping its time', () => {
    const p = pipeline();
    const year2200 = Date.UTC(2200, 0, 1);
    const request = {
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'beorn' } }] },
          scopeLogs: [
            { logRecords: [{ timeUnixNano: `${year2200}000000`, body: { stringValue: 'from 2200' } }] },
          ],
        },
      ],
    };
    const before = Date.now();
    p.logsIn.pipe(null, Buffer.from(JSON.stringify(request)), before, contentTypeHeader('otlp_json'));
    const [enriched] = p.enriched.readRecords();
    expect(enriched!.value.time_ms).toBe(year2200);
    // Kafka refuses timestamps over an hour ahead of the broker's clock (message.timestamp.after.max.ms).
    expect(enriched!.timestamp).toBeGreaterThanOrEqual(before + 30 * 60_000);
    expect(enriched!.timestamp).toBeLessThanOrEqual(Date.now() + 30 * 60_000);
    p.driver.close();
  });

  it('materializes every log and span, and publishes the enriched logs', () => {
    const p = pipeline();
    pipeScenario(p);
    expect(written(p.sinks.logs)).toHaveLength(scenario.logs.length);
    expect(written(p.sinks.spans)).toHaveLength(scenario.spans.length);
    const enriched = p.enriched.readRecords();
    expect(enriched).toHaveLength(scenario.logs.length);
    expect(enriched.every((r) => r.key === r.value.trace_id)).toBe(true);
    const services = new Set(written(p.sinks.spans).map((s) => s.service));
    expect([...services].sort()).toEqual(['arda', 'beorn', 'palantir']);
    p.driver.close();
  });

  it('with pattern mining, gives every log its pattern and writes the closed buckets', () => {
    const p = pipeline({ patterns: true });
    pipeScenario(p);
    const refs = written(p.patternSinks.refs);
    expect(refs.map((r) => r.record_id).sort()).toEqual(
      written(p.sinks.logs)
        .map((l) => l.id)
        .sort(),
    );
    const later = buildScenario({ traces: 1, seed: 98, startMs: startMs + 60_000, errorRate: 0 }).logs;
    for (const message of encodeLogs(later, { encoding: 'otlp_json' }))
      p.logsIn.pipe(null, message, startMs + 60_000, contentTypeHeader('otlp_json'));
    const buckets = written(p.patternSinks.buckets);
    const received = buckets.find((b) => b.template === 'Design request received for CIRCUIT-<NUM>');
    expect(received).toMatchObject({ service: 'arda', bucket_ms: 10_000 });
    expect(
      buckets.filter((b) => b.template.startsWith('Design request')).reduce((n, b) => n + b.count, 0),
    ).toBe(12);
    p.driver.close();
  });

  it('writes a correlation part for every log and span of a trace as it is read', () => {
    const p = pipeline();
    pipeScenario(p);
    const parts = partsByTrace(p.sinks.correlationParts);
    for (const trace of scenario.traces) {
      const ofTrace = parts.get(trace.traceId) ?? [];
      expect(ofTrace.filter((x) => x.kind === 'span')).toHaveLength(trace.spanCount);
      expect(ofTrace.filter((x) => x.kind === 'log')).toHaveLength(trace.logCount);
      expect(ofTrace.filter((x) => x.is_root).map((x) => x.service)).toEqual(['arda']);
      expect(ofTrace.some((x) => x.is_error)).toBe(trace.failure !== null);
    }
    p.driver.close();
  });

  it('evaluates the trace rules once a trace closes: window and grace of stream time', () => {
    const p = pipeline();
    pipeScenario(p);
    expect(traceAlerts(p.sinks.alerts)).toEqual([]);
    const lastEventMs = Math.max(...written(p.sinks.spans).map((s) => s.start_ms + s.duration_ms));
    advanceStreamTime(p, lastEventMs + WINDOW_MS + GRACE_MS + 20_000);
    const alerted = new Set(traceAlerts(p.sinks.alerts).map((a) => a.related_trace_id));
    for (const trace of scenario.traces) expect(alerted.has(trace.traceId)).toBe(trace.failure !== null);
    p.driver.close();
  });

  it('closes the traces of a partition that went quiet, after window + grace of wall-clock time', () => {
    const p = pipeline();
    pipeScenario(p);
    p.driver.advanceWallClockTime(10_000); // the punctuation notes where stream time stands
    p.driver.advanceWallClockTime(WINDOW_MS);
    expect(traceAlerts(p.sinks.alerts)).toEqual([]); // idle, but not yet for window + grace
    p.driver.advanceWallClockTime(GRACE_MS + 60_000);
    const alerted = new Set(traceAlerts(p.sinks.alerts).map((a) => a.related_trace_id));
    expect(alerted.size).toBe(scenario.traces.filter((t) => t.failure !== null).length);
    p.driver.close();
  });

  it('adds a late log to its trace and updates the trace alerts under the same ids', () => {
    const p = pipeline();
    pipeScenario(p);
    const lastEventMs = Math.max(...written(p.sinks.spans).map((s) => s.start_ms + s.duration_ms));
    advanceStreamTime(p, lastEventMs + WINDOW_MS + GRACE_MS + 20_000);
    const trace = scenario.traces.find((t) => t.failure !== null)!;
    const partsBefore = partsByTrace(p.sinks.correlationParts).get(trace.traceId)!.length;
    const alertsBefore = traceAlerts(p.sinks.alerts).filter((a) => a.related_trace_id === trace.traceId);
    expect(alertsBefore.length).toBeGreaterThan(0);

    p.logsIn.pipe(
      null,
      contractLogMessage({
        trace_id: trace.traceId,
        level: 'error',
        message: 'late straggler',
        service: 'beorn',
      }),
      startMs,
    );
    const parts = partsByTrace(p.sinks.correlationParts).get(trace.traceId)!;
    expect(parts).toHaveLength(partsBefore + 1);
    expect(parts.at(-1)).toMatchObject({ kind: 'log', is_error: true, error_message: 'late straggler' });
    const alertsAfter = traceAlerts(p.sinks.alerts).filter((a) => a.related_trace_id === trace.traceId);
    expect(alertsAfter.length).toBeGreaterThan(alertsBefore.length); // re-emitted with the update
    // One id per trace and rule: the update replaces its alert (it may also match a rule it did not before).
    const idsByRule = new Map<string, Set<string>>();
    for (const a of alertsAfter) idsByRule.set(a.rule_id, (idsByRule.get(a.rule_id) ?? new Set()).add(a.id));
    for (const ids of idsByRule.values()) expect(ids.size).toBe(1);
    for (const a of alertsBefore) expect(idsByRule.get(a.rule_id)).toEqual(new Set([a.id]));
    p.driver.close();
  });

  it('dead-letters an undecodable message with its reason and keeps processing', () => {
    const p = pipeline();
    p.logsIn.pipe(null, Buffer.from('{"resourceLogs": [ not json'), startMs, {
      'content-type': 'application/json',
    });
    pipeScenario(p);
    const dlq = p.dlq.readRecords();
    expect(dlq).toHaveLength(1);
    expect(dlq[0]!.headers[HEADER.sourceTopic]).toBe('otel-logs');
    expect(dlq[0]!.headers[HEADER.error]).toMatch(/json/i);
    expect(written(p.sinks.logs)).toHaveLength(scenario.logs.length);
    p.driver.close();
  });

  it('dead-letters a repartition record in a format it cannot read (the JSON of older versions) and goes on', () => {
    const p = pipeline();
    const key = Buffer.from('4bf92f3577b34da6a3ce929d0e0e4736');
    for (const name of ['logs-by-trace', 'spans-by-trace', 'logs-by-service']) {
      p.driver.pipeRaw({
        topic: repartitionTopicName('sl', name),
        key,
        value: Buffer.from(JSON.stringify({ kind: 'log', log: {} })),
        timestamp: startMs,
      });
    }
    pipeScenario(p);
    const dlq = p.driver.produced(p.driver.dlqTopic);
    expect(dlq.map((r) => r.headers[HEADER.sourceTopic])).toEqual([
      'sl-logs-by-trace-repartition',
      'sl-spans-by-trace-repartition',
      'sl-logs-by-service-repartition',
    ]);
    for (const record of dlq) {
      expect(record.headers[HEADER.errorType]).toBe('DeserializationError');
      expect(record.headers[HEADER.error]).toMatch(/format version 123 \(JSON/);
    }
    expect(partsByTrace(p.sinks.correlationParts).size).toBe(scenario.traces.length);
    p.driver.close();
  });

  it('raises an alert for every failing trace, keyed by alert id', () => {
    const p = pipeline();
    pipeScenario(p);
    const lastEventMs = Math.max(...written(p.sinks.spans).map((s) => s.start_ms + s.duration_ms));
    advanceStreamTime(p, lastEventMs + WINDOW_MS + GRACE_MS + 20_000);
    const alerts = p.alerts.readRecords();
    const failing = scenario.traces.filter((t) => t.failure !== null);
    expect(failing.length).toBeGreaterThan(0);
    expect(alerts.length).toBeGreaterThan(0);
    expect(alerts.every((a) => a.key === a.value.id)).toBe(true);
    const alertedTraces = new Set(alerts.map((a) => a.value.related_trace_id));
    for (const trace of failing) expect(alertedTraces.has(trace.traceId)).toBe(true);
    expect(written(p.sinks.alerts).length).toBe(alerts.length);
    p.driver.close();
  });

  it('redacts PII before anything leaves the pipeline', () => {
    const p = pipeline();
    p.logsIn.pipe(
      null,
      contractLogMessage({ message: 'card 4111 1111 1111 1111 for jane@example.com', service: 'beorn' }),
      startMs,
    );
    const [log] = written(p.sinks.logs);
    expect(log!.body).not.toContain('4111 1111 1111 1111');
    expect(log!.body).not.toContain('jane@example.com');
    expect(p.enriched.readRecords()[0]!.value.body).toBe(log!.body);
    expect(p.redacted()).toBeGreaterThanOrEqual(2);
    p.driver.close();
  });
});
