import { createClient } from '@clickhouse/client';
import { createLogger } from '../common/logger';
import { loadConfig } from '../config/config';
import type { Alert, LogRecord } from '../processors/records';
import { describeTopology, jsonSerde } from '../topology';
import { buildPipelineTopology } from './stacklens-app';

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
      'external: clickhouse:otel_logs',
      'external: clickhouse:stacklens_correlation_parts',
    ]) {
      expect(text).toContain(expected);
    }
  });

  it('leaves out the topic outputs a replay must not write', () => {
    const config = loadConfig({ APPLICATION_ID: 'sl' });
    const replay = buildPipelineTopology(config, {
      clickhouse,
      serdes,
      logger,
      applicationId: 'sl-replay-1',
      outputs: { enrichedTopic: false, alertsTopic: false },
    });
    const text = describeTopology(replay, 'sl-replay-1');
    expect(text).not.toContain('stacklens-enriched');
    expect(text).not.toContain('topic: stacklens-alerts');
    expect(text).toContain('external: clickhouse:stacklens_alerts');
    expect(text).toContain('sl-replay-1-trace-correlations-changelog');
  });
});
