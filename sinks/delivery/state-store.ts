import { randomUUID } from 'node:crypto';
import { Partitioners, type Kafka, type KafkaMessage, type Producer } from 'kafkajs';
import { StackLensError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import { decodeEntry, encodeEntry, type DeliveryEntry } from '../../processors/delivery';

/**
 * An entry could not be written (the broker stayed unreachable through the producer's retries). Delivery
 * stops rather than deliver what it cannot record.
 */
export class DeliveryStateWriteError extends StackLensError {}

/**
 * The delivery entries, kept in a compacted topic (one partition) and in memory. `open` reads the topic
 * to its end before anything is delivered; `put` returns once the broker has the entry (acks=all,
 * idempotent producer), so an entry `put` before a crash is there after the restart.
 *
 * Several delivery instances share the topic: `catchUp`, run when partitions are assigned, reads what
 * the others wrote since, so an instance taking over a partition sees what its previous owner delivered.
 * Each entry in memory remembers its offset; an older record read later never replaces a newer entry.
 */
export class DeliveryStateStore {
  private readonly entries = new Map<string, { entry: DeliveryEntry; offset: bigint }>();
  /** Next offset to read, by partition. */
  private readonly positions = new Map<number, bigint>();

  private constructor(
    private readonly kafka: Kafka,
    private readonly topic: string,
    private readonly producer: Producer,
    private readonly logger: Logger,
  ) {}

  static async open(kafka: Kafka, topic: string, logger: Logger): Promise<DeliveryStateStore> {
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    const store = new DeliveryStateStore(kafka, topic, producer, logger);
    await store.catchUp();
    logger.info({ topic, entries: store.entries.size }, 'delivery state loaded');
    return store;
  }

  get(key: string): DeliveryEntry | undefined {
    return this.entries.get(key)?.entry;
  }

  async put(key: string, entry: DeliveryEntry): Promise<void> {
    let offset: bigint;
    try {
      const [written] = await this.producer.send({
        topic: this.topic,
        acks: -1,
        messages: [{ key, value: encodeEntry(entry) }],
      });
      offset = BigInt(written?.baseOffset ?? written?.offset ?? '-1');
    } catch (cause) {
      throw new DeliveryStateWriteError(
        `cannot record delivery state ${key} on ${this.topic}: ${(cause as Error).message}`,
        { cause },
      );
    }
    this.apply(key, entry, offset);
  }

  /**
   * Reads the topic from where this store stopped to its current end, with a throwaway group that never
   * commits. An entry that does not decode is logged and left out: its alert may be delivered again,
   * which beats refusing to start.
   */
  async catchUp(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    let ends: Map<number, bigint>;
    try {
      ends = new Map((await admin.fetchTopicOffsets(this.topic)).map((o) => [o.partition, BigInt(o.high)]));
    } finally {
      await admin.disconnect();
    }
    const behind = (): boolean =>
      [...ends].some(([partition, high]) => (this.positions.get(partition) ?? 0n) < high);
    if (!behind()) return;

    const consumer = this.kafka.consumer({
      groupId: `${this.topic}-reader-${randomUUID()}`,
      maxWaitTimeInMs: 200,
    });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [this.topic], fromBeginning: true });
      // Synchronous, so kafkajs applies the seeks at the first fetch after the join.
      consumer.on(consumer.events.GROUP_JOIN, () => {
        for (const [partition, offset] of this.positions)
          consumer.seek({ topic: this.topic, partition, offset: offset.toString() });
      });
      let finish: () => void = () => undefined;
      const finished = new Promise<void>((resolve) => (finish = resolve));
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          this.read(message);
          const next = BigInt(message.offset) + 1n;
          if (next > (this.positions.get(partition) ?? 0n)) this.positions.set(partition, next);
          if (!behind()) finish();
        },
      });
      await finished;
    } finally {
      await consumer.disconnect();
    }
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }

  private read(message: KafkaMessage): void {
    const key = message.key?.toString('utf8');
    if (key === undefined) return;
    const offset = BigInt(message.offset);
    if (message.value === null) {
      if ((this.entries.get(key)?.offset ?? -1n) < offset) this.entries.delete(key);
      return;
    }
    try {
      this.apply(key, decodeEntry(key, message.value), offset);
    } catch (err) {
      this.logger.error({ err, key }, 'delivery state entry ignored');
    }
  }

  private apply(key: string, entry: DeliveryEntry, offset: bigint): void {
    const current = this.entries.get(key);
    if (current === undefined || current.offset < offset) this.entries.set(key, { entry, offset });
  }
}
