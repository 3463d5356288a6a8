import type { StackLensConfig } from '../config/config';
import { productTopicNames } from '../sinks/kafka/topics';
import type { StackLensTopics } from './pipeline/stacklens-topology';

/** The topics StackLens reads and writes, with TOPIC_PREFIX applied. */
export function stackLensTopics(config: StackLensConfig): StackLensTopics {
  const names = productTopicNames(config.topicPrefix);
  return {
    logs: names.otelLogs,
    traces: names.otelTraces,
    enriched: names.enriched,
    alerts: names.alerts,
    patterns: names.logPatterns,
  };
}
