/**
 * A falsifiable check, on the local broker, of what each client's TxnOffsetCommit carries (KIP-447):
 *
 * 1. @platformatic/kafka: a member fetches a record under generation g; a second member joins, so the group
 *    moves to a later generation. A transaction that commits the record's offset with the metadata it was
 *    fetched under (what a zombie would send) must be refused by the broker (ILLEGAL_GENERATION); the same
 *    offset with the member's current generation must commit (the control, so that the refusal is not
 *    a refusal of everything).
 * 2. kafkajs: `sendOffsets` has no generation to send (TxnOffsetCommit v0/v1). A transaction from a producer
 *    that is no member of the group at all commits offsets for the group while another member owns the
 *    partition: the broker cannot fence it.
 * 3. @platformatic/kafka Admin, OffsetFetch with require_stable: while a transaction holds a pending
 *    offset for the group, the fetch is refused (UNSTABLE_OFFSET_COMMIT); without it, the old offset comes back.
 * 4. StableOffsetsConsumer (the consumer's own offset fetch made stable): a new owner of the partition waits
 *    for that transaction and starts at its offset, not at the older one.
 * 5. @platformatic/kafka 1.35 defaults: a producer started with a transactional id used before is refused
 *    (PRODUCER_FENCED) and its predecessor's open transaction still commits: a restarted instance cannot
 *    fence a zombie. Passes while the defect is there; fails once the client is fixed.
 * 6. The same with `producerId: -1n, producerEpoch: -1` in the options: the successor takes over and the
 *    predecessor's commit is refused (PRODUCER_FENCED).
 *
 * Prints each outcome and exits 1 when any differs from the expectation above.
 *
 *   npm run build && node dist/bench/kafka-clients/fencing-proof.js
 */
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import {
  Admin as PlatformaticAdmin,
  Consumer,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
  Producer,
  type Message,
} from '@platformatic/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { BenchError } from '../errors';
import { StableOffsetsConsumer } from './stable-offsets-consumer';

const BROKER = process.env.KAFKA_BROKER ?? '127.0.0.1:9092';
/** Bound on every wait: the group operations below take a few seconds each on the local broker. */
const TIMEOUT_MS = 60_000;

interface GroupMetadata {
  groupId: string;
  memberId: string;
  generationId: number;
  coordinatorId: number;
}

interface Check {
  name: string;
  expected: string;
  actual: string;
  passed: boolean;
}

/** The Kafka error names in an error and its causes (@platformatic/kafka nests them in AggregateErrors). */
function kafkaErrorNames(error: unknown): string[] {
  if (!(error instanceof Error)) return [];
  const own = (error as { apiId?: unknown }).apiId;
  const nested = error instanceof AggregateError ? error.errors.flatMap(kafkaErrorNames) : [];
  return [...(typeof own === 'string' ? [own] : []), ...nested, ...kafkaErrorNames(error.cause)];
}

async function outcome(action: () => Promise<unknown>): Promise<string> {
  try {
    await action();
    return 'accepted';
  } catch (error) {
    const names = [...new Set(kafkaErrorNames(error))];
    return `refused: ${names.length > 0 ? names.join(', ') : String(error)}`;
  }
}

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new BenchError(`${what}: no answer within ${TIMEOUT_MS} ms`)),
      TIMEOUT_MS,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * @platformatic/kafka's InitProducerId sends producer id 0 and epoch 0 unless the options give others; the
 * broker then checks them against the transactional id's current producer, which is another one as soon
 * as the id was used before: the new producer is refused (PRODUCER_FENCED) and the old one goes on.
 * Kafka's own clients send -1/-1 ("a new producer"), and so does this when the options say so.
 */
async function restartCheck(
  common: { clientId: string; bootstrapBrokers: string[] },
  topic: string,
  transactionalId: string,
  ids: { producerId?: bigint; producerEpoch?: number },
): Promise<Check> {
  const withIds = 'producerId' in ids;
  const producer = (): Producer => new Producer({ ...common, idempotent: true, transactionalId, ...ids });
  const predecessor = producer();
  const successor = producer();
  try {
    const open = await predecessor.beginTransaction();
    await open.send({ messages: [{ topic, value: Buffer.from('predecessor') }] });
    const takeover = await outcome(async () => {
      const transaction = await successor.beginTransaction();
      await transaction.send({ messages: [{ topic, value: Buffer.from('successor') }] });
      await transaction.commit();
    });
    const zombieCommit = await outcome(() => open.commit());
    return withIds
      ? {
          name: '@platformatic/kafka with producerId -1n, producerEpoch -1: a restarted instance fences its predecessor',
          expected: 'successor accepted; predecessor commit refused: PRODUCER_FENCED',
          actual: `successor ${takeover}; predecessor commit ${zombieCommit}`,
          passed: takeover === 'accepted' && zombieCommit.includes('PRODUCER_FENCED'),
        }
      : {
          name: '@platformatic/kafka defaults (InitProducerId with id 0, epoch 0): a restarted instance cannot take over',
          expected:
            'successor refused: PRODUCER_FENCED; predecessor commit accepted (the defect the -1 ids avoid)',
          actual: `successor ${takeover}; predecessor commit ${zombieCommit}`,
          passed: takeover.includes('PRODUCER_FENCED') && zombieCommit === 'accepted',
        };
  } finally {
    await Promise.allSettled([predecessor.close(), successor.close()]);
  }
}

async function main(): Promise<void> {
  const id = randomUUID().slice(0, 8);
  const topic = `stacklens-fencing-proof-${id}`;
  const group = `stacklens-fencing-proof-${id}`;
  const kafka = new Kafka({ clientId: 'fencing-proof', brokers: [BROKER], logLevel: logLevel.ERROR });
  const admin = kafka.admin();
  await admin.connect();
  const checks: Check[] = [];
  const common = { clientId: 'fencing-proof', bootstrapBrokers: [BROKER] };
  const groupOptions = { groupId: group, autocommit: false, sessionTimeout: 10_000, heartbeatInterval: 500 };
  const zombie = new Consumer({ ...common, ...groupOptions });
  const other = new Consumer({ ...common, ...groupOptions });
  const producer = new Producer({ ...common, idempotent: true, transactionalId: `${group}-platformatic` });
  const plAdmin = new PlatformaticAdmin(common);
  try {
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] });
    const seed = kafka.producer();
    await seed.connect();
    await seed.send({ topic, messages: ['a', 'b', 'c', 'd'].map((value) => ({ value })) });
    await seed.disconnect();

    // 1. A record fetched under generation g, then the group moves on.
    const consumeOptions = {
      topics: [topic],
      mode: MessagesStreamModes.COMMITTED,
      fallbackMode: MessagesStreamFallbackModes.EARLIEST,
    };
    const stream = await zombie.consume(consumeOptions);
    const [fetched] = (await withTimeout(once(stream, 'data'), 'first record')) as [Message];
    stream.pause();
    // What @platformatic/kafka's MessagesStream puts on every message, and TxnOffsetCommit sends for it.
    const fetchedUnder = fetched.metadata.consumer as GroupMetadata;
    const rejoined = withTimeout(once(zombie, 'consumer:group:join'), 'rebalance');
    const otherStream = await other.consume(consumeOptions);
    await rejoined;
    console.log(
      `record fetched under generation ${fetchedUnder.generationId}; the group is now at generation ${zombie.generationId}`,
    );

    const stale = await outcome(async () => {
      const transaction = await producer.beginTransaction();
      try {
        await transaction.addConsumer(zombie);
        await transaction.addOffset(fetched);
        await transaction.commit();
      } catch (error) {
        await transaction.abort();
        throw error;
      }
    });
    checks.push({
      name: '@platformatic/kafka: offsets of a record fetched before the rebalance (zombie)',
      expected: 'refused: ILLEGAL_GENERATION',
      actual: stale,
      passed: stale.includes('ILLEGAL_GENERATION'),
    });

    const current = {
      ...fetched,
      metadata: {
        consumer: { ...fetchedUnder, generationId: zombie.generationId, memberId: zombie.memberId },
      },
    } as Message;
    const control = await outcome(async () => {
      const transaction = await producer.beginTransaction();
      await transaction.addConsumer(zombie);
      await transaction.addOffset(current);
      await transaction.commit();
    });
    checks.push({
      name: '@platformatic/kafka: the same offset with the current generation (control)',
      expected: 'accepted',
      actual: control,
      passed: control === 'accepted',
    });

    // 2. kafkajs: no generation in TxnOffsetCommit; a producer outside the group commits for it.
    const kjsProducer = kafka.producer({
      transactionalId: `${group}-kafkajs`,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await kjsProducer.connect();
    const outsider = await outcome(async () => {
      const transaction = await kjsProducer.transaction();
      await transaction.sendOffsets({
        consumerGroupId: group,
        topics: [{ topic, partitions: [{ partition: 0, offset: '2' }] }],
      });
      await transaction.commit();
    });
    await kjsProducer.disconnect();
    const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    const offset = committed?.partitions[0]?.offset;
    checks.push({
      name: 'kafkajs: offsets committed by a producer outside the group, while members own the partition',
      expected: 'accepted (not fenced), group offset 2',
      actual: `${outsider}, group offset ${offset}`,
      passed: outsider === 'accepted' && offset === '2',
    });

    // 3. require_stable: a transaction holds a pending offset (3) for the group, over the committed one (2).
    const pendingOffsetOf = {
      ...fetched,
      offset: 2n,
      metadata: { consumer: { ...fetchedUnder, generationId: other.generationId, memberId: other.memberId } },
    } as Message;
    const open = await producer.beginTransaction();
    await open.addConsumer(other);
    await open.addOffset(pendingOffsetOf);
    const committedOffset = async (requireStable: boolean): Promise<bigint | undefined> => {
      const [answer] = await plAdmin.listConsumerGroupOffsets({
        groups: [{ groupId: group, topics: [{ name: topic, partitionIndexes: [0] }] }],
        requireStable,
      });
      return answer?.topics[0]?.partitions[0]?.committedOffset;
    };
    const unstable = await outcome(() => committedOffset(true));
    const plain = await committedOffset(false);
    checks.push({
      name: '@platformatic/kafka Admin: OffsetFetch with a pending transactional offset',
      expected: 'require_stable refused: UNSTABLE_OFFSET_COMMIT; without it the old offset 2',
      actual: `require_stable ${unstable}; without it ${plain}`,
      passed: unstable.includes('UNSTABLE_OFFSET_COMMIT') && plain === 2n,
    });

    // 4. A new owner whose committed-offset fetch is stable waits for that transaction, then starts at 3.
    await Promise.all([stream.close(), otherStream.close()]);
    await Promise.all([zombie.close(true), other.close(true)]);
    const waitingAdmin = new PlatformaticAdmin({ ...common, retries: 600, retryDelay: 100 });
    try {
      const waited = withTimeout(
        once(waitingAdmin, 'client:performWithRetry:retry'),
        'a refused stable fetch',
      );
      const newcomer = new StableOffsetsConsumer({ ...common, ...groupOptions }, waitingAdmin);
      try {
        const newcomerStream = await newcomer.consume(consumeOptions);
        const first = withTimeout(once(newcomerStream, 'data'), 'first record of the new owner');
        await waited;
        await open.commit();
        const [firstRecord] = (await first) as [Message];
        checks.push({
          name: 'StableOffsetsConsumer: a new owner waits for the pending offset and starts at it',
          expected: 'first record at offset 3 (2 without require_stable: a duplicate)',
          actual: `waited (UNSTABLE_OFFSET_COMMIT retried), first record at offset ${firstRecord.offset}`,
          passed: firstRecord.offset === 3n,
        });
        await newcomerStream.close();
      } finally {
        await newcomer.close(true);
      }
    } finally {
      await waitingAdmin.close();
    }

    // 5-6. A restarted instance (same transactional id) must fence its predecessor, which still has a
    // transaction open (a zombie), and the predecessor's commit must then be refused.
    checks.push(await restartCheck(common, topic, `${group}-restart-default`, {}));
    const minusOne = { producerId: -1n, producerEpoch: -1 };
    checks.push(await restartCheck(common, topic, `${group}-restart-minus-one`, minusOne));
  } finally {
    await Promise.allSettled([zombie.close(true), other.close(true), producer.close(), plAdmin.close()]);
    await admin
      .deleteGroups([group])
      .catch((e: unknown) => console.warn(`could not delete the group: ${String(e)}`));
    await admin
      .deleteTopics({ topics: [topic] })
      .catch((e: unknown) => console.warn(`could not delete ${topic}: ${String(e)}`));
    await admin.disconnect();
  }
  for (const check of checks) {
    console.log(
      `${check.passed ? 'PASS' : 'FAIL'}  ${check.name}\n      expected ${check.expected}\n      actual   ${check.actual}`,
    );
  }
  const failed = checks.filter((c) => !c.passed).length;
  console.log(`${checks.length - failed} passed, ${failed} failed`);
  if (failed > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
