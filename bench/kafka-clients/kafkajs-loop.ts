import { performance } from 'node:perf_hooks';
import { Kafka, logLevel, type Message, type Transaction } from 'kafkajs';
import { commitDue, Meter, slices, transform, type LoopOptions, type LoopResult } from './loop';

/**
 * kafkajs: eachBatch processes one partition's fetched batch at a time, and fetching waits for it; so the
 * sends (one at a time: the idempotent producer has one request in flight) hold consumption in both
 * modes. The offsets go in TxnOffsetCommit v1: no group generation.
 */
export async function runKafkajsLoop(options: LoopOptions): Promise<LoopResult> {
  const kafka = new Kafka({ clientId: 'bench-kafkajs', brokers: [options.broker], logLevel: logLevel.ERROR });
  const producer = kafka.producer({
    transactionalId: options.transactionalId,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  const consumer = kafka.consumer({ groupId: options.groupId, readUncommitted: false });
  const meter = new Meter(options.records);
  let unsent: Message[] = [];
  let uncommitted = 0;
  let offsets = new Map<number, string>();
  let transaction: Transaction | undefined;
  let received = 0;
  let lastCommitAt = performance.now();

  const send = async (): Promise<Transaction> => {
    transaction ??= await producer.transaction();
    for (const messages of slices(unsent, options.recordsPerSend))
      await transaction.send({ topic: options.outputTopic, messages });
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
      await open.sendOffsets({
        consumerGroupId: options.groupId,
        topics: [{ topic: options.inputTopic, partitions }],
      });
      await open.commit();
    } catch (error) {
      await transaction?.abort();
      throw error;
    } finally {
      transaction = undefined;
    }
    lastCommitAt = performance.now();
    meter.committedRecords(records, startedAt);
  };

  try {
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topic: options.inputTopic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
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
          else if (options.produce === 'as-made') await send();
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
