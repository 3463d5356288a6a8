import { performance } from 'node:perf_hooks';
import { commitDue, Meter, transform, type LoopOptions, type LoopResult } from './loop';

/**
 * @confluentinc/kafka-javascript is not a dependency: it has no prebuilt binary for this machine and
 * builds librdkafka from source, which needs system libraries (see bench/kafka-clients/README.md).
 * It is loaded at run time when installed; these are the parts of its KafkaJS-compatible API used here.
 */
interface ConfluentMessage {
  key: Buffer | null;
  value: Buffer | null;
  offset: string;
}
interface ConfluentConsumer {
  connect(): Promise<void>;
  subscribe(subscription: { topics: string[] }): Promise<void>;
  run(config: {
    eachBatch: (payload: { batch: { partition: number; messages: ConfluentMessage[] } }) => Promise<void>;
  }): Promise<void>;
  disconnect(): Promise<void>;
}
interface ConfluentTransaction {
  send(record: { topic: string; messages: { key: Buffer | null; value: Buffer }[] }): Promise<unknown>;
  sendOffsets(args: {
    consumer: ConfluentConsumer;
    topics: { topic: string; partitions: { partition: number; offset: string }[] }[];
  }): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}
interface ConfluentProducer {
  connect(): Promise<void>;
  transaction(): Promise<ConfluentTransaction>;
  disconnect(): Promise<void>;
}
interface ConfluentKafka {
  producer(config: Record<string, unknown>): ConfluentProducer;
  consumer(config: Record<string, unknown>): ConfluentConsumer;
}
export interface ConfluentModule {
  KafkaJS: { Kafka: new (config: Record<string, unknown>) => ConfluentKafka; logLevel: { ERROR: number } };
  librdkafkaVersion: string;
}

/** The installed module, or undefined when it is not installed (the benchmark then says so). */
export async function loadConfluent(): Promise<ConfluentModule | undefined> {
  const name = '@confluentinc/kafka-javascript';
  try {
    return (await import(name)) as ConfluentModule;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return undefined;
    throw error;
  }
}

/**
 * The KafkaJS-compatible API over librdkafka: same loop as kafkajs's, but `sendOffsets` takes the consumer
 * and librdkafka sends its group metadata (generation, member id) in TxnOffsetCommit v3+ (KIP-447).
 */
export async function runConfluentLoop(
  confluent: ConfluentModule,
  options: LoopOptions,
): Promise<LoopResult> {
  const kafka = new confluent.KafkaJS.Kafka({
    kafkaJS: {
      clientId: 'bench-confluent',
      brokers: [options.broker],
      logLevel: confluent.KafkaJS.logLevel.ERROR,
    },
  });
  const producer = kafka.producer({
    kafkaJS: { transactionalId: options.transactionalId, idempotent: true, maxInFlightRequests: 1 },
  });
  const consumer = kafka.consumer({
    kafkaJS: { groupId: options.groupId, fromBeginning: true, autoCommit: false },
    'isolation.level': 'read_committed',
    // Whole fetched batches per eachBatch call, as kafkajs hands them out (the default is 32 records).
    'js.consumer.max.batch.size': -1,
  });
  const meter = new Meter(options.records);
  let pending: { key: Buffer | null; value: Buffer }[] = [];
  let offsets = new Map<number, string>();
  let received = 0;
  let lastCommitAt = performance.now();

  const commit = async (): Promise<void> => {
    const startedAt = performance.now();
    const messages = pending;
    const partitions = [...offsets].map(([partition, offset]) => ({ partition, offset }));
    pending = [];
    offsets = new Map();
    const transaction = await producer.transaction();
    try {
      await transaction.send({ topic: options.outputTopic, messages });
      await transaction.sendOffsets({ consumer, topics: [{ topic: options.inputTopic, partitions }] });
      await transaction.commit();
    } catch (error) {
      await transaction.abort();
      throw error;
    }
    lastCommitAt = performance.now();
    meter.committedRecords(messages.length, startedAt);
  };

  try {
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topics: [options.inputTopic] });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        meter.received();
        for (const message of batch.messages)
          pending.push({ key: message.key, value: transform(message.value) });
        const last = batch.messages.at(-1);
        if (last !== undefined) offsets.set(batch.partition, (BigInt(last.offset) + 1n).toString());
        received += batch.messages.length;
        if (pending.length > 0 && commitDue(options, lastCommitAt, received))
          await commit().catch((e) => meter.fail(e));
      },
    });
    return await meter.done;
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
  }
}
