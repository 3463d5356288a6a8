import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { ALERT_SCHEMA, ENRICHED_LOG_SCHEMA } from '../../processors/avro/schemas';
import type { Alert, LogRecord } from '../../processors/records';
import { registerAvroSchemaSerde, valueSubject, type AvroSerde } from './avro-serde';
import { PRODUCT_TOPICS } from './topics';

/** Value serdes of the Avro topics StackLens writes. */
export interface ProductSerdes {
  enriched: AvroSerde<LogRecord>;
  alerts: AvroSerde<Alert>;
}

/**
 * Registers the enriched-log and alert schemas under their topics' `<topic>-value` subjects and returns
 * their serdes. The records of processors/records.ts are the Avro shape as they are (processors/avro),
 * so no mapping happens. The schemas are those of processors/avro/schemas.ts (schemas/*.avsc hold the same
 * JSON, which a processors test checks). `prefix` is the topic prefix given to productTopicSpecs.
 */
export async function registerProductSerdes(
  registry: SchemaRegistry,
  options: { prefix?: string } = {},
): Promise<ProductSerdes> {
  const prefix = options.prefix ?? '';
  return {
    enriched: await registerAvroSchemaSerde<LogRecord>(
      registry,
      valueSubject(`${prefix}${PRODUCT_TOPICS.enriched}`),
      ENRICHED_LOG_SCHEMA,
    ),
    alerts: await registerAvroSchemaSerde<Alert>(
      registry,
      valueSubject(`${prefix}${PRODUCT_TOPICS.alerts}`),
      ALERT_SCHEMA,
    ),
  };
}
