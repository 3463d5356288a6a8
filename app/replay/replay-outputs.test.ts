import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAlertRulesText } from '../../processors/alerts';
import { createRecordPipeline } from '../../processors/pipeline';
import type { CorrelationPart } from '../../processors/correlate';
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
    for (const sink of [
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
