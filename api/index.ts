/** The API's public surface for the composition root. */
export { createApi, type Api } from './create-api';
export type {
  ApiDeps,
  ApiLimits,
  IngestMessage,
  IngestProducer,
  IngestTopics,
  LiveFeed,
  ProbeResult,
  ReadinessProbe,
} from './deps';
export { DEFAULT_INGEST_TOPICS, DEFAULT_LIMITS } from './deps';
export { kafkaIngestProducer } from './ingest/kafka-producer';
export { KafkaLiveFeed, type KafkaLiveFeedOptions } from './live/kafka-live-feed';
