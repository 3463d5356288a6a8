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
  MAX_SENDS_IN_FLIGHT,
  Meter,
  slices,
  transform,
  type LoopOptions,
  type LoopResult,
} from './loop';

/** The package does not export the class; it is what `beginTransaction` resolves to. */
type Transaction = Awaited<ReturnType<Producer['beginTransaction']>>;

/**
 * @platformatic/kafka: the consumer is a Readable of messages; the stream is paused while the interval's
 * transaction commits. Each message carries the group metadata it was fetched under (group id, member
 * id, generation), and `Transaction#addOffset` sends it in TxnOffsetCommit v3+ (KIP-447).
 * Sends go one at a time (a promise chain): concurrent sends of the idempotent producer to one partition
 * fail with OUT_OF_ORDER_SEQUENCE_NUMBER (tried: the client does not order them).
 */
export async function runPlatformaticLoop(options: LoopOptions): Promise<LoopResult> {
  const common = { clientId: 'bench-platformatic', bootstrapBrokers: [options.broker] };
  // producerId/producerEpoch -1: see fencing-proof.ts (without them a restarted instance cannot take over
  // its transactional id).
  const producer = new Producer({
    ...common,
    idempotent: true,
    transactionalId: options.transactionalId,
    producerId: -1n,
    producerEpoch: -1,
  });
  const consumer = new Consumer({
    ...common,
    groupId: options.groupId,
    autocommit: false,
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
  });
  const meter = new Meter(options.records);
  // Outputs not yet handed to a send, and the input records they stand for.
  let unsent: MessageToProduce[] = [];
  let uncommitted = 0;
  // The last message of each partition: its metadata is what TxnOffsetCommit sends for the partition.
  let lastOfPartition = new Map<number, Message>();
  let transaction: Transaction | undefined;
  let sending: Promise<void> = Promise.resolve();
  let sendsQueued = 0;
  let committing = false;
  let received = 0;
  let lastCommitAt = performance.now();

  const openTransaction = async (): Promise<Transaction> => {
    if (transaction !== undefined) return transaction;
    transaction = await producer.beginTransaction();
    await transaction.addConsumer(consumer);
    return transaction;
  };
  /** Queues the unsent outputs, in slices, behind the sends already queued. */
  const flush = (): void => {
    for (const messages of slices(unsent, options.recordsPerSend)) {
      sendsQueued += 1;
      sending = sending.then(async () => {
        await (await openTransaction()).send({ messages });
        sendsQueued -= 1;
      });
    }
    unsent = [];
    // Awaited at the commit; a failure ends the run now rather than as an unhandled rejection.
    sending.catch((error: unknown) => meter.fail(error));
  };

  const commit = async (): Promise<void> => {
    const startedAt = performance.now();
    const offsets = [...lastOfPartition.values()];
    const records = uncommitted;
    lastOfPartition = new Map();
    uncommitted = 0;
    flush();
    try {
      await sending;
      const open = await openTransaction();
      // One at a time: concurrent addOffset calls are deduplicated into one request by the client.
      for (const message of offsets) await open.addOffset(message);
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
    const stream = await consumer.consume({
      topics: [options.inputTopic],
      mode: MessagesStreamModes.COMMITTED,
      fallbackMode: MessagesStreamFallbackModes.EARLIEST,
      autocommit: false,
    });
    stream.on('data', (message: Message) => {
      meter.received();
      unsent.push({ topic: options.outputTopic, key: message.key, value: transform(message.value) });
      lastOfPartition.set(message.partition, message);
      uncommitted += 1;
      received += 1;
      if (committing) return;
      if (commitDue(options, lastCommitAt, received)) {
        committing = true;
        stream.pause();
        commit().then(
          () => {
            committing = false;
            stream.resume();
          },
          (error: unknown) => meter.fail(error),
        );
      } else if (options.produce === 'as-made' && unsent.length >= options.recordsPerSend) {
        flush();
        if (sendsQueued >= MAX_SENDS_IN_FLIGHT && !stream.isPaused()) {
          stream.pause();
          sending.then(
            () => !committing && stream.resume(),
            (error: unknown) => meter.fail(error),
          );
        }
      }
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
