import type { Admin } from 'kafkajs';

const HOUR_MS = 3_600_000;

export interface DeliveryTopicNames {
  /** Compacted: the latest delivery entry per (receiver, alert id). */
  state: string;
  /** Deliveries given up on, with the reason; and alert records that could not be decoded. */
  deadLetters: string;
}

/** `<APPLICATION_ID>-delivery-state` and `<APPLICATION_ID>-delivery-dlq`. */
export function deliveryTopicNames(applicationId: string): DeliveryTopicNames {
  return { state: `${applicationId}-delivery-state`, deadLetters: `${applicationId}-delivery-dlq` };
}

/**
 * Creates the delivery topics when absent (never alters existing ones). The state topic is compacted, so it
 * keeps each key's latest entry, and also deleted past `stateRetentionHours`: an alert older than that is
 * forgotten, which must exceed how far back alerts can be replayed (the alerts topic's retention) or a
 * replay of older alerts would deliver them again.
 */
export async function ensureDeliveryTopics(
  admin: Admin,
  names: DeliveryTopicNames,
  options: { stateRetentionHours: number; deadLetterRetentionHours: number },
): Promise<void> {
  const present = new Set(await admin.listTopics());
  const topics = [
    {
      topic: names.state,
      numPartitions: 1,
      replicationFactor: -1,
      configEntries: [
        { name: 'cleanup.policy', value: 'compact,delete' },
        { name: 'retention.ms', value: String(options.stateRetentionHours * HOUR_MS) },
      ],
    },
    {
      topic: names.deadLetters,
      numPartitions: 1,
      replicationFactor: -1,
      configEntries: [{ name: 'retention.ms', value: String(options.deadLetterRetentionHours * HOUR_MS) }],
    },
  ].filter((t) => !present.has(t.topic));
  if (topics.length > 0) await admin.createTopics({ waitForLeaders: true, topics });
}
