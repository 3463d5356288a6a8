import { performance } from 'node:perf_hooks';
import {
  Consumer,
  FetchIsolationLevels,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
  Producer,
  type Message,
  type MessageToProduce,
} from '@platformatic/kafka';
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
 * @platformatic/kafka: the consumer is a Readable of messages; the stream is paused while the interval's
 * transaction commits. Each message carries the group metadata it was fetched under (group id, member
 * id, generation), and `Transaction#addOffset` sends it in TxnOffsetCommit v3+ (KIP-447).
 */
export async function runPlatformaticLoop(options: LoopOptions): Promise<LoopResult> {
  const common = { clientId: 'bench-platformatic', bootstrapBrokers: [options.broker] };
  const producer = new Producer({ ...common, idempotent: true, transactionalId: options.transactionalId });
  const consumer = new Consumer({
    ...common,
    groupId: options.groupId,
    autocommit: false,
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
  });
  const meter = new Meter(options.records);
  let pending: MessageToProduce[] = [];
  // The last message of each partition: its metadata is what TxnOffsetCommit sends for the partition.
  let lastOfPartition = new Map<number, Message>();
  let received = 0;
  let lastCommitAt = performance.now();

  const commit = async (): Promise<void> => {
    const startedAt = performance.now();
    const messages = pending;
    const offsets = [...lastOfPartition.values()];
    pending = [];
    lastOfPartition = new Map();
    const transaction = await producer.beginTransaction();
    try {
      await transaction.addConsumer(consumer);
      // One send at a time: concurrent sends of the idempotent producer to one partition fail with
      // OUT_OF_ORDER_SEQUENCE_NUMBER (tried: the client does not order them).
      for (const slice of slices(messages, RECORDS_PER_SEND)) await transaction.send({ messages: slice });
      // One at a time: concurrent addOffset calls are deduplicated into one request by the client.
      for (const message of offsets) await transaction.addOffset(message);
      await transaction.commit();
    } catch (error) {
      await transaction.abort();
      throw error;
    }
    lastCommitAt = performance.now();
    meter.committedRecords(messages.length, startedAt);
  };

  try {
    const stream = await consumer.consume({
      topics: [options.inputTopic],
      mode: MessagesStreamModes.COMMITTED,
      fallbackMode: MessagesStreamFallbackModes.EARLIEST,
      autocommit: false,
    });
    stream.on('data', (message: Message) => {
      meter.received();
      pending.push({ topic: options.outputTopic, key: message.key, value: transform(message.value) });
      lastOfPartition.set(message.partition, message);
      received += 1;
      if (stream.isPaused() || !commitDue(options, lastCommitAt, received)) return;
      stream.pause();
      commit().then(
        () => stream.resume(),
        (error: unknown) => meter.fail(error),
      );
    });
    stream.on('error', (error: unknown) => meter.fail(error));
    const result = await meter.done;
    await stream.close();
    return result;
  } finally {
    await consumer.close(true);
    await producer.close();
  }
}
