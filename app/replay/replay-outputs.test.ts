import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAlertRulesText } from '../../processors/alerts';
import { createRecordPipeline } from '../../processors/pipeline';
import type { CorrelationPart } from '../../processors/correlate';
import {
  DEFAULT_DRAIN_SETTINGS,
  DEFAULT_PATTERN_ANOMALY_SETTINGS,
  type PatternBucket,
  type PatternRef,
} from '../../processors/patterns';
import type { Alert, LogRecord, SpanRecord } from '../../processors/records';
import { describeTopology, jsonSerde } from '../../topology';
import { CollectingSink } from '../../topology/testing';
import { buildStackLensTopology, type StackLensTopologyOptions } from '../pipeline/stacklens-topology';

// A replay builds the live topology with its output topics turned off (stacklens-topology.ts `outputs`),
// writing each record's and alert's rows itself (`sinks`): no ClickHouse application runs beside it.
function topologyText(outputs: StackLensTopologyOptions['outputs']): string {
  const topology = buildStackLensTopology({
    applicationId: 'sl-replay-x',
    topics: {
      logs: 'otel-logs',
      traces: 'otel-traces',
      enriched: 'stacklens-enriched',
      alerts: 'stacklens-alerts',
      patterns: 'stacklens-log-patterns',
    },
    records: createRecordPipeline(),
    alertRules: parseAlertRulesText(readFileSync(join(__dirname, '../../config/alert-rules.json'), 'utf8')),
    correlation: { windowMs: 60_000, graceMs: 30_000, retentionMs: 600_000 },
    serdes: { enrichedLog: jsonSerde<LogRecord>(), alert: jsonSerde<Alert>() },
    sinks: {
      logs: new CollectingSink<string, LogRecord>('clickhouse:otel_logs'),
      spans: new CollectingSink<string, SpanRecord>('clickhouse:otel_traces'),
      correlationParts: new CollectingSink<string, CorrelationPart>('clickhouse:stacklens_correlation_parts'),
      alerts: new CollectingSink<string, Alert>('clickhouse:stacklens_alerts'),
      patternRefs: new CollectingSink<string, PatternRef>('clickhouse:stacklens_log_pattern_refs'),
      patternBuckets: new CollectingSink<string, PatternBucket>('clickhouse:stacklens_log_patterns'),
    },
    patterns: {
      settings: {
        drain: DEFAULT_DRAIN_SETTINGS,
        anomalies: DEFAULT_PATTERN_ANOMALY_SETTINGS,
        maxBodyChars: 1_024,
      },
    },
    outputs,
  });
  return describeTopology(topology, 'sl-replay-x');
}

describe('the StackLens topology for a replay', () => {
  it('writes both output topics by default', () => {
    const text = topologyText(undefined);
    expect(text).toContain('stacklens-enriched');
    expect(text).toContain('stacklens-alerts');
  });

  it('writes neither output topic when both are off, and keeps every ClickHouse sink', () => {
    const text = topologyText({ enrichedTopic: false, alertsTopic: false });
    expect(text).not.toContain('stacklens-enriched');
    expect(text).not.toContain('stacklens-alerts');
    // The pattern rows too: the replay writes them itself (live, they go to the ClickHouse application).
    expect(text).not.toContain('stacklens-log-patterns');
    for (const sink of [
      'log-pattern-refs-to-clickhouse',
      'log-pattern-buckets-to-clickhouse',
      'logs-to-clickhouse',
      'spans-to-clickhouse',
      'log-parts-to-clickhouse',
      'span-parts-to-clickhouse',
      'log-alerts-to-clickhouse',
      'trace-alerts-to-clickhouse',
    ]) {
      expect(text).toContain(sink);
    }
  });

  it('publishes alerts without enriched records for a backfill with --alerts', () => {
    const text = topologyText({ enrichedTopic: false, alertsTopic: true });
    expect(text).not.toContain('stacklens-enriched');
    expect(text).toContain('stacklens-alerts');
  });
});
