import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { schemaRegistryUrl } from '../../infra/services/schema-registry';
import { stackSettingsFromEnv } from '../../infra/stack-settings';
import { ALERT_SCHEMA } from '../../processors/avro/schemas';
import type { Alert } from '../../processors/records';
import { registerAvroSchemaSerde, valueSubject, type AvroSerde } from '../../sinks/kafka/avro-serde';
import { createSchemaRegistryClient } from '../../sinks/kafka/schema-registry-client';
import { PRODUCT_TOPICS } from '../../sinks/kafka/topics';
import { BROKERS, produce, testKafka, uniqueName } from './topology-kafka';

/** Receiver secrets, as the delivery process reads them from its environment. */
export const SECRETS = {
  HOOK_SECRET: 'hook-signing-secret',
  JIRA_USER: 'bot@example.test',
  JIRA_TOKEN: 'jira-token',
};

/** A delivery test's own application id, topics (prefix) and rules file. */
export interface DeliveryWorld {
  applicationId: string;
  alertsTopic: string;
  dlqTopic: string;
  stateTopic: string;
  env: Record<string, string>;
  produceAlerts(alerts: readonly Alert[]): Promise<void>;
  produceRaw(value: Buffer, key: string): Promise<void>;
}

/** Writes `rules` (receivers and routes around one catch-all match rule) and names everything uniquely. */
export async function deliveryWorld(
  sections: { receivers: unknown[]; routes: unknown[] },
  env: Record<string, string>,
): Promise<DeliveryWorld> {
  const applicationId = uniqueName('delivery');
  const prefix = `${applicationId}-`;
  const alertsTopic = `${prefix}${PRODUCT_TOPICS.alerts}`;
  const dir = mkdtempSync(join(tmpdir(), 'stacklens-delivery-'));
  const rulesFile = join(dir, 'alert-rules.json');
  writeFileSync(
    rulesFile,
    JSON.stringify({
      version: 1,
      rules: [
        {
          id: 'any-error',
          type: 'match',
          when: { min_level: 'error' },
          alert: { issue_code: '{error_code}', severity: 'error', message: '{body}' },
        },
      ],
      ...sections,
    }),
  );
  const kafka = testKafka();
  let serde: AvroSerde<Alert> | undefined;
  const alertSerde = async (): Promise<AvroSerde<Alert>> =>
    (serde ??= await registerAvroSchemaSerde<Alert>(
      createSchemaRegistryClient({
        url: schemaRegistryUrl(stackSettingsFromEnv()),
        requestTimeoutMs: 15_000,
      }),
      valueSubject(alertsTopic),
      ALERT_SCHEMA,
    ));
  return {
    applicationId,
    alertsTopic,
    dlqTopic: `${applicationId}-delivery-dlq`,
    stateTopic: `${applicationId}-delivery-state`,
    env: {
      KAFKA_BROKERS: BROKERS.join(','),
      SCHEMA_REGISTRY_URL: schemaRegistryUrl(stackSettingsFromEnv()),
      APPLICATION_ID: applicationId,
      TOPIC_PREFIX: prefix,
      ALERT_RULES_FILE: rulesFile,
      DELIVERY_LINK_BASE_URL: 'https://stacklens.example.test',
      LOG_LEVEL: 'info',
      ...SECRETS,
      ...env,
    },
    async produceAlerts(alerts) {
      const s = await alertSerde();
      await produce(
        kafka,
        alertsTopic,
        alerts.map((a) => ({ key: a.id, value: s.serialize(a) })),
      );
    },
    async produceRaw(value, key) {
      await produce(kafka, alertsTopic, [{ key, value }]);
    },
  };
}

/** A fresh alert (its own id, created now) with `overrides`. */
export function newAlert(overrides: Partial<Alert> = {}): Alert {
  const now = new Date().toISOString();
  return {
    id: randomUUID(),
    issue_code: 'PRICE_MISSING',
    severity: 'error',
    message: 'Product price is null or missing (product p-1)',
    suggested_fix: 'Check inventory service response',
    confidence: 0.95,
    automation_possible: false,
    automation_action: null,
    related_trace_id: randomUUID().replace(/-/g, ''),
    related_logs: ['otel-logs:0:1:0'],
    created_at: now,
    created_by: 'system',
    rule_id: 'price-missing',
    service: 'palantir',
    count: 1,
    window_start: now,
    ...overrides,
  };
}

/** Retries that finish quickly in a test, still with backoff between attempts. */
export const FAST_RETRY = { attempts: 3, initial_delay_ms: 50, max_delay_ms: 200 };
