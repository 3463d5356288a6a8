import { createClient } from '@clickhouse/client';
import { createLogger } from '../common/logger';
import { loadConfig } from '../config/config';
import type { Alert, LogRecord } from '../processors/records';
import { describeTopology, jsonSerde, TopologyDefinitionError } from '../topology';
import { buildClickHouseTopologyFor, buildPipelineTopology, clickHouseAppOptions } from './stacklens-app';

describe('buildPipelineTopology', () => {
  const logger = createLogger({ level: 'silent', format: 'json' });
  const serdes = { enriched: jsonSerde<LogRecord>(), alerts: jsonSerde<Alert>() };
  const clickhouse = createClient({});

  afterAll(() => clickhouse.close());

  it('describes what the configuration asks for: prefixed topics, internal topics, stores and sinks', () => {
    const config = loadConfig({ APPLICATION_ID: 'sl', TOPIC_PREFIX: 'tenant-a.' });
    const text = describeTopology(buildPipelineTopology(config, { clickhouse, serdes, logger }), 'sl');
    for (const expected of [
      'topics: [tenant-a.otel-logs]',
      'topics: [tenant-a.otel-traces]',
      'topic: tenant-a.stacklens-enriched',
      'topic: tenant-a.stacklens-alerts',
      'sl-logs-by-trace-repartition',
      'sl-spans-by-trace-repartition',
      'sl-logs-by-service-repartition',
      'sl-trace-correlations-changelog',
      'topic: tenant-a.stacklens-log-patterns',
    ]) {
      expect(text).toContain(expected);
    }
    // Every row is the ClickHouse application's: the pipeline's commit waits for Kafka only.
    expect(text).not.toContain('external: clickhouse');
  });

  it("gives each record's rows to the ClickHouse application, which reads the input topics", () => {
    const config = loadConfig({ APPLICATION_ID: 'sl', TOPIC_PREFIX: 'tenant-a.' });
    const text = describeTopology(
      buildClickHouseTopologyFor(config, { clickhouse, alertSerde: serdes.alerts, logger }),
      'sl-clickhouse',
    );
    for (const expected of [
      'topics: [tenant-a.otel-logs]',
      'topics: [tenant-a.otel-traces]',
      'topics: [tenant-a.stacklens-alerts]',
      'topics: [tenant-a.stacklens-log-patterns]',
      'external: clickhouse:otel_logs',
      'external: clickhouse:otel_traces',
      'external: clickhouse:stacklens_correlation_parts',
      'external: clickhouse:stacklens_alerts',
      'external: clickhouse:stacklens_log_pattern_refs',
      'external: clickhouse:stacklens_log_patterns',
    ]) {
      expect(text).toContain(expected);
    }
    // Nothing to Kafka (so no transaction is needed), no state.
    expect(text).not.toMatch(/topic: |changelog|repartition/);
    expect(clickHouseAppOptions(config, 'host-1')).toMatchObject({
      applicationId: 'sl-clickhouse',
      processingGuarantee: 'at_least_once',
      commitIntervalMs: 1_000,
    });
  });

  /** A replay's topology: no topic outputs, every row written by itself. */
  function replayTopologyText(): string {
    const config = loadConfig({ APPLICATION_ID: 'sl' });
    const replay = buildPipelineTopology(config, {
      clickhouse,
      serdes,
      logger,
      applicationId: 'sl-replay-1',
      outputs: { enrichedTopic: false, alertsTopic: false },
      writeRows: true,
    });
    return describeTopology(replay, 'sl-replay-1');
  }

  it('leaves out the topic outputs a replay must not write', () => {
    const text = replayTopologyText();
    expect(text).not.toContain('stacklens-enriched');
    expect(text).not.toContain('topic: stacklens-alerts');
    expect(text).not.toContain('stacklens-log-patterns');
    expect(text).toContain('sl-replay-1-trace-correlations-changelog');
  });

  it('refuses a topology whose alerts would reach neither the alerts topic nor ClickHouse', () => {
    const config = loadConfig({ APPLICATION_ID: 'sl' });
    expect(() =>
      buildPipelineTopology(config, { clickhouse, serdes, logger, outputs: { alertsTopic: false } }),
    ).toThrow(TopologyDefinitionError);
  });

  it("writes each record's, alert's and pattern's rows itself for a replay", () => {
    const text = replayTopologyText();
    expect(text).toContain('external: clickhouse:otel_logs');
    expect(text).toContain('external: clickhouse:otel_traces');
    expect(text).toContain('external: clickhouse:stacklens_correlation_parts');
    expect(text).toContain('external: clickhouse:stacklens_alerts');
    expect(text).toContain('external: clickhouse:stacklens_log_pattern_refs');
    expect(text).toContain('external: clickhouse:stacklens_log_patterns');
  });
});
