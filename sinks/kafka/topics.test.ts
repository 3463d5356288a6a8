import { loadConfig } from '../../config/config';
import { PRODUCT_TOPICS, productTopicSpecs } from './topics';

const HOUR_MS = 3_600_000;

describe('productTopicSpecs', () => {
  it("gives the seeds' sizing by default", () => {
    expect(productTopicSpecs(loadConfig({}).topics)).toEqual([
      { topic: 'otel-logs', partitions: 3, retentionMs: 7 * 24 * HOUR_MS },
      { topic: 'otel-traces', partitions: 3, retentionMs: 7 * 24 * HOUR_MS },
      { topic: 'stacklens-enriched', partitions: 3, retentionMs: 3 * 24 * HOUR_MS },
      { topic: 'stacklens-alerts', partitions: 1, retentionMs: 30 * 24 * HOUR_MS },
      { topic: 'stacklens-log-patterns', partitions: 3, retentionMs: 3 * 24 * HOUR_MS },
    ]);
  });

  it('follows the configuration overrides and prefixes names', () => {
    const specs = productTopicSpecs(
      loadConfig({ TOPIC_ALERTS_PARTITIONS: '4', TOPIC_ENRICHED_RETENTION_HOURS: '12' }).topics,
      { prefix: 'test-' },
    );
    expect(specs.find((s) => s.topic === `test-${PRODUCT_TOPICS.alerts}`)?.partitions).toBe(4);
    expect(specs.find((s) => s.topic === `test-${PRODUCT_TOPICS.enriched}`)?.retentionMs).toBe(12 * HOUR_MS);
  });
});
