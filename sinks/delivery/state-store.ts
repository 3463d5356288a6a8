import { randomUUID } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import { StackLensError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import { decodeEntry, encodeEntry, type DeliveryEntry } from '../../processors/delivery';

/**
 * An entry could not be written (the broker stayed unreachable through the producer's retries). Delivery
 * stops rather than deliver what it cannot record.
 */
export class DeliveryStateWriteError extends StackLensError {}

/**
 * The delivery entries, kept in a compacted topic and in memory. `open` reads the topic to its end
 * before anything is delivered; `put` returns once the broker has the entry (acks=all, idempotent
 * producer), so an entry `put` before a crash is there after the restart.
 *
 * One writer per key is assumed: the alerts topic is keyed by alert id, so one delivery instance owns
 * each alert at a time (a rebalance moving a partition in the middle of a delivery is the exception,
 * see README "Alert delivery").
 */
export class DeliveryStateStore {
  private constructor(
    private readonly topic: string,
    private readonly producer: Producer,
    private readonly entries: Map<string, DeliveryEntry>,
  ) {}

  static async open(kafka: Kafka, topic: string, logger: Logger): Promise<DeliveryStateStore> {
    const entries = await readAll(kafka, topic, logger);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    logger.info({ topic, entries: entries.size }, 'delivery state loaded');
    return new DeliveryStateStore(topic, producer, entries);
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): DeliveryEntry | undefined {
    return this.entries.get(key);
  }

  async put(key: string, entry: DeliveryEntry): Promise<void> {
    try {
      await this.producer.send({
        topic: this.topic,
        acks: -1,
        messages: [{ key, value: encodeEntry(entry) }],
      });
    } catch (cause) {
      throw new DeliveryStateWriteError(
        `cannot record delivery state ${key} on ${this.topic}: ${(cause as Error).message}`,
        { cause },
      );
    }
    this.entries.set(key, entry);
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}

/**
 * Reads the whole topic with a throwaway group that never commits (the topic is read from its start
 * every time). An entry that does not decode is logged and left out: its alert may be delivered again,
 * which beats refusing to start.
 */
async function readAll(kafka: Kafka, topic: string, logger: Logger): Promise<Map<string, DeliveryEntry>> {
  const entries = new Map<string, DeliveryEntry>();
  const admin = kafka.admin();
  await admin.connect();
  let ends: Map<number, bigint>;
  try {
    ends = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, BigInt(o.high)]));
  } finally {
    await admin.disconnect();
  }
  const behind = (positions: Map<number, bigint>): boolean =>
    [...ends].some(([partition, high]) => (positions.get(partition) ?? 0n) < high);
  const positions = new Map<number, bigint>();
  if (!behind(positions)) return entries;

  const consumer = kafka.consumer({ groupId: `${topic}-loader-${randomUUID()}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let finish: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        positions.set(partition, BigInt(message.offset) + 1n);
        const key = message.key?.toString('utf8');
        if (key !== undefined) {
          if (message.value === null) entries.delete(key);
          else {
            try {
              entries.set(key, decodeEntry(key, message.value));
            } catch (err) {
              logger.error({ err, key }, 'delivery state entry ignored');
            }
          }
        }
        if (!behind(positions)) finish();
      },
    });
    await finished;
  } finally {
    await consumer.disconnect();
  }
  return entries;
}
