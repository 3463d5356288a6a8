import { readFileSync } from 'node:fs';
import { Partitioners } from 'kafkajs';
import type { Registry } from 'prom-client';
import type { Logger } from '../../common/logger';
import type { StackLensConfig } from '../../config/config';
import { ALERT_SCHEMA } from '../../processors/avro/schemas';
import { parseDeliveryRulesText, type DeliveryRules } from '../../processors/delivery';
import type { Alert } from '../../processors/records';
import { registerAvroSchemaSerde, valueSubject } from '../../sinks/kafka/avro-serde';
import { DeadLetterWriter } from '../../sinks/delivery/dead-letters';
import { deliveryTopicNames, ensureDeliveryTopics } from '../../sinks/delivery/delivery-topics';
import { DeliveryStateStore } from '../../sinks/delivery/state-store';
import { createSchemaRegistryClient } from '../../sinks/kafka/schema-registry-client';
import { ensureTopics, productTopicSpecs } from '../../sinks/kafka/topics';
import { kafkaClient } from '../stacklens-app';
import { stackLensTopics } from '../topics';
import { AlertDelivery } from './alert-delivery';
import { deliveryMetrics } from './delivery-metrics';

/** A running delivery: `done` rejects if it had to stop (its state could not be written). */
export interface RunningDelivery {
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

/** The receivers and routes of ALERT_RULES_FILE, with their secrets read from `env`. */
export function loadDeliveryRules(config: StackLensConfig, env: NodeJS.ProcessEnv): DeliveryRules {
  return parseDeliveryRulesText(readFileSync(config.alerts.rulesFile, 'utf8'), env);
}

/**
 * Alert delivery as configured: consumer group `${APPLICATION_ID}-delivery` on the (prefixed) alerts
 * topic, its state and dead-letter topics, the alert subject's Avro serde, metrics into `registry`.
 * `stacklens run` starts it next to the pipeline when the rules file has receivers; `stacklens deliver`
 * runs it alone.
 */
export async function startAlertDelivery(options: {
  config: StackLensConfig;
  rules: DeliveryRules;
  logger: Logger;
  registry: Registry;
}): Promise<RunningDelivery> {
  const { config, rules, logger } = options;
  const applicationId = config.kafka.applicationId;
  const kafka = kafkaClient(config, logger, `${applicationId}-delivery`);
  const topics = deliveryTopicNames(applicationId);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, productTopicSpecs(config.topics, { prefix: config.topicPrefix }), { logger });
    await ensureDeliveryTopics(admin, topics, {
      stateRetentionHours: config.delivery.stateRetentionHours,
      deadLetterRetentionHours: config.topics.alerts.retentionHours,
    });
  } finally {
    await admin.disconnect();
  }
  const alertsTopic = stackLensTopics(config).alerts;
  const alertSerde = await registerAvroSchemaSerde<Alert>(
    createSchemaRegistryClient(config.schemaRegistry),
    valueSubject(alertsTopic),
    ALERT_SCHEMA,
  );
  const state = await DeliveryStateStore.open(kafka, topics.state, logger.child({ component: 'delivery' }));
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const delivery = new AlertDelivery({
    kafka,
    groupId: `${applicationId}-delivery`,
    alertsTopic,
    alertSerde,
    rules,
    linkBaseUrl: config.delivery.linkBaseUrl,
    state,
    deadLetters: new DeadLetterWriter(producer, topics.deadLetters),
    metrics: deliveryMetrics(options.registry),
    logger,
    commitIntervalMs: config.delivery.commitIntervalMs,
    maxAlertAgeMs: config.delivery.maxAlertAgeHours * 3_600_000,
  });
  await delivery.start();
  let stopping: Promise<void> | undefined;
  return {
    done: delivery.done,
    stop: () =>
      (stopping ??= (async () => {
        await delivery.stop();
        await producer.disconnect();
        await state.close();
      })()),
  };
}
