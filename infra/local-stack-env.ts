import { localClickHouseUrl } from './services/clickhouse';
import { kafkaBootstrap } from './services/kafka';
import {
  LOCAL_S3_ACCESS_KEY_ID,
  LOCAL_S3_BUCKET,
  LOCAL_S3_SECRET_ACCESS_KEY,
  localS3Endpoint,
} from './services/s3';
import { schemaRegistryUrl } from './services/schema-registry';
import type { StackSettings } from './stack-settings';

/**
 * StackLens runs against the local stack unless the user points it at their own Kafka: with
 * KAFKA_BROKERS unset, `stacklens run` brings the stack up and uses its endpoints.
 */
export function usesLocalStack(env: NodeJS.ProcessEnv): boolean {
  return env.KAFKA_BROKERS === undefined || env.KAFKA_BROKERS.trim() === '';
}

/**
 * The environment as the local stack completes it: every endpoint the user did not set points at
 * the stack's service. Variables the user set are kept, so one service can still be external; a
 * CHDB_PATH of the user's own asks for the embedded engine in that directory instead of the stack's
 * ClickHouse.
 */
export function withLocalStackDefaults(env: NodeJS.ProcessEnv, settings: StackSettings): NodeJS.ProcessEnv {
  const defaults: Record<string, string> = {
    KAFKA_BROKERS: kafkaBootstrap(settings),
    SCHEMA_REGISTRY_URL: schemaRegistryUrl(settings),
    S3_ENDPOINT: localS3Endpoint(settings),
    S3_BUCKET: LOCAL_S3_BUCKET,
    AWS_ACCESS_KEY_ID: LOCAL_S3_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: LOCAL_S3_SECRET_ACCESS_KEY,
  };
  if (!isSet(env.CHDB_PATH)) defaults.CLICKHOUSE_URL = localClickHouseUrl(settings);
  const completed: NodeJS.ProcessEnv = { ...env };
  for (const [name, value] of Object.entries(defaults)) {
    if (completed[name] === undefined || completed[name]?.trim() === '') completed[name] = value;
  }
  // The S3 keys belong to the local S3 server: keep a user's own pair together rather than mixing.
  if (isSet(env.S3_ENDPOINT)) {
    completed.AWS_ACCESS_KEY_ID = env.AWS_ACCESS_KEY_ID;
    completed.AWS_SECRET_ACCESS_KEY = env.AWS_SECRET_ACCESS_KEY;
    completed.S3_BUCKET = env.S3_BUCKET;
  }
  return completed;
}

function isSet(value: string | undefined): boolean {
  return value !== undefined && value.trim() !== '';
}
