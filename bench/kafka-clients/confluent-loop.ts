import { performance } from 'node:perf_hooks';
import { commitDue, MAX_SENDS_IN_FLIGHT, Meter, transform, type LoopOptions, type LoopResult } from './loop';

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
    // Batches of the size kafkajs hands out (one partition's fetch, ~1 MiB, ~3,000 records here). The
    // default, 32, costs a call per 32 records; no limit (-1) hands out the whole prefetch cache (~1.5 s of
    // records), so that a transaction spans seconds instead of the commit interval.
    'js.consumer.max.batch.size': 3_000,
  });
  const meter = new Meter(options.records);
  let unsent: { key: Buffer | null; value: Buffer }[] = [];
  let uncommitted = 0;
  let offsets = new Map<number, string>();
  let transaction: ConfluentTransaction | undefined;
  // librdkafka queues the records and batches them itself: sends need not wait for one another.
  let sends: Promise<unknown>[] = [];
  let received = 0;
  let lastCommitAt = performance.now();

  const send = async (): Promise<ConfluentTransaction> => {
    transaction ??= await producer.transaction();
    if (unsent.length > 0) {
      const sent = transaction.send({ topic: options.outputTopic, messages: unsent });
      // Awaited at the commit; a failure ends the run now rather than as an unhandled rejection.
      sent.catch((error: unknown) => meter.fail(error));
      sends.push(sent);
    }
    unsent = [];
    return transaction;
  };

  const commit = async (): Promise<void> => {
    const startedAt = performance.now();
    const partitions = [...offsets].map(([partition, offset]) => ({ partition, offset }));
    const records = uncommitted;
    offsets = new Map();
    uncommitted = 0;
    try {
      const open = await send();
      await Promise.all(sends);
      await open.sendOffsets({ consumer, topics: [{ topic: options.inputTopic, partitions }] });
      await open.commit();
    } catch (error) {
      await transaction?.abort();
      throw error;
    } finally {
      transaction = undefined;
      sends = [];
    }
    lastCommitAt = performance.now();
    meter.committedRecords(records, startedAt);
  };

  try {
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topics: [options.inputTopic] });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        meter.received();
        for (const message of batch.messages)
          unsent.push({ key: message.key, value: transform(message.value) });
        const last = batch.messages.at(-1);
        if (last === undefined) return;
        offsets.set(batch.partition, (BigInt(last.offset) + 1n).toString());
        uncommitted += batch.messages.length;
        received += batch.messages.length;
        try {
          if (commitDue(options, lastCommitAt, received)) await commit();
          else if (options.produce === 'as-made') {
            await send();
            // Bounded memory: wait for the oldest sends once too many are in flight.
            if (sends.length >= MAX_SENDS_IN_FLIGHT) await Promise.all(sends.slice(0, sends.length / 2));
          }
        } catch (error) {
          meter.fail(error);
        }
      },
    });
    return await meter.done;
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
  }
}
