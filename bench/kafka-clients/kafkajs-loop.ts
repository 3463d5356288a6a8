import { performance } from 'node:perf_hooks';
import { Kafka, logLevel, type Message } from 'kafkajs';
import {
  commitDue,
  Meter,
  RECORDS_PER_SEND,
  slices,
  transform,
  type LoopOptions,
  type LoopResult,
} from './loop';

/**
 * kafkajs: eachBatch processes one partition's fetched batch at a time; outputs of the interval are held
 * and sent in the interval's transaction, with the offsets (TxnOffsetCommit v1: no group generation).
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
  let pending: Message[] = [];
  let offsets = new Map<number, string>();
  let received = 0;
  let lastCommitAt = performance.now();

  const commit = async (): Promise<void> => {
    const startedAt = performance.now();
    const messages = pending;
    const partitions = [...offsets].map(([partition, offset]) => ({ partition, offset }));
    const inputRecords = messages.length;
    pending = [];
    offsets = new Map();
    const transaction = await producer.transaction();
    try {
      for (const slice of slices(messages, RECORDS_PER_SEND))
        await transaction.send({ topic: options.outputTopic, messages: slice });
      await transaction.sendOffsets({
        consumerGroupId: options.groupId,
        topics: [{ topic: options.inputTopic, partitions }],
      });
      await transaction.commit();
    } catch (error) {
      await transaction.abort();
      throw error;
    }
    lastCommitAt = performance.now();
    meter.committedRecords(inputRecords, startedAt);
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
