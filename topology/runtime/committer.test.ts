import type { Consumer, Producer, RecordMetadata } from 'kafkajs';
import type { ProducedRecord } from '../processor/record';
import { AtLeastOnceCommitter, TransactionalCommitter, type OffsetToCommit } from './committer';
import { ProducedRecordTooLargeError, TransactionTimedOutError } from './kafka-errors';

interface SentTopic {
  readonly topic: string;
  readonly messages: { partition?: number }[];
}

/** A stand-in for a kafkajs producer: records the calls; `failNext` makes the next send throw. */
class FakeProducer {
  static created: FakeProducer[] = [];
  readonly sends: number[] = [];
  connected = false;
  failNext: unknown = undefined;
  /** Makes the next transaction's commit (EndTxn) throw. */
  failCommit: unknown = undefined;
  /** What happened in the transactions, in order. */
  readonly steps: string[] = [];
  committed = 0;
  aborted = 0;

  constructor() {
    FakeProducer.created.push(this);
  }

  async connect(): Promise<void> {
    this.connected = true;
  }

  async disconnect(): Promise<void> {
    this.connected = false;
  }

  /** Next offset of each `topic|partition`, as the broker assigns them. */
  readonly logEnds = new Map<string, number>();

  /** Answers as the broker does: one base offset per partition written. */
  private async send(topicMessages: SentTopic[]): Promise<RecordMetadata[]> {
    if (this.failNext !== undefined) {
      const error = this.failNext;
      this.failNext = undefined;
      throw error;
    }
    this.sends.push(topicMessages.reduce((n, t) => n + t.messages.length, 0));
    const counts = new Map<string, number>();
    for (const { topic, messages } of topicMessages) {
      for (const { partition } of messages)
        counts.set(`${topic}|${partition}`, (counts.get(`${topic}|${partition}`) ?? 0) + 1);
    }
    return [...counts].map(([id, count]) => {
      const base = this.logEnds.get(id) ?? 0;
      this.logEnds.set(id, base + count);
      const [topicName, partition] = id.split('|') as [string, string];
      return { topicName, partition: Number(partition), errorCode: 0, baseOffset: String(base) };
    });
  }

  async sendBatch({ topicMessages }: { topicMessages: SentTopic[] }): Promise<RecordMetadata[]> {
    return this.send(topicMessages);
  }

  async transaction() {
    let active = true;
    return {
      sendBatch: ({ topicMessages }: { topicMessages: SentTopic[] }) => this.send(topicMessages),
      sendOffsets: async () => void this.steps.push('offsets'),
      commit: async () => {
        active = false;
        if (this.failCommit !== undefined) {
          const error = this.failCommit;
          this.failCommit = undefined;
          throw error;
        }
        this.steps.push('commit');
        this.committed += 1;
      },
      abort: async () => {
        active = false;
        this.aborted += 1;
      },
      isActive: () => active,
    };
  }
}

const create = (): Producer => new FakeProducer() as unknown as Producer;
const consumer = { commitOffsets: async () => undefined } as unknown as Consumer;
const offsets: OffsetToCommit[] = [{ topic: 'in', partition: 0, offset: '10', metadata: null }];
const member = async (): Promise<void> => undefined;

function records(count: number, bytes: number): ProducedRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    topic: 'out',
    partition: 0,
    key: Buffer.from(String(i)),
    value: Buffer.alloc(bytes),
    timestamp: 0,
    headers: {},
  }));
}

function protocolError(type: string): Error {
  return Object.assign(new Error(type), { type });
}

beforeEach(() => {
  FakeProducer.created = [];
});

describe('TransactionalCommitter', () => {
  it('produces a large run in bounded sends inside one transaction', async () => {
    const committer = new TransactionalCommitter(create, 'app', 10_000, 10_000);
    await committer.connect();
    await committer.commit(records(30, 1_000), offsets, member);
    const producer = FakeProducer.created[0]!;
    expect(producer.sends.length).toBeGreaterThan(1);
    expect(producer.sends.reduce((a, b) => a + b, 0)).toBe(30);
    expect(producer.committed).toBe(1);
  });

  it('reports where its records end in each partition, over several sends (persistent stores checkpoint it)', async () => {
    const committer = new TransactionalCommitter(create, 'app', 10_000, 10_000);
    await committer.connect();
    await committer.commit(records(3, 10), offsets, member);
    const changelog = records(30, 1_000).map((r, i) => ({ ...r, topic: 'changelog', partition: i % 2 }));
    const ends = await committer.commit([...records(2, 10), ...changelog], offsets, member);
    expect(FakeProducer.created[0]!.sends.length).toBeGreaterThan(2);
    expect(ends).toEqual(
      new Map([
        ['out|0', 5n],
        ['changelog|0', 15n],
        ['changelog|1', 15n],
      ]),
    );
  });

  it('aborts after a failed send and replaces the producer before the next commit', async () => {
    const committer = new TransactionalCommitter(create, 'app', 10_000, 10_000);
    await committer.connect();
    const first = FakeProducer.created[0]!;
    first.failNext = protocolError('NOT_LEADER_FOR_PARTITION');
    await expect(committer.commit(records(3, 10), offsets, member)).rejects.toThrow(
      'NOT_LEADER_FOR_PARTITION',
    );
    expect(first.aborted).toBe(1);
    await committer.commit(records(3, 10), offsets, member);
    const second = FakeProducer.created[1]!;
    expect(first.connected).toBe(false);
    expect(second.connected).toBe(true);
    expect(second.committed).toBe(1);
  });

  it('keeps the producer after fencing: re-initializing would fence the other instance', async () => {
    const committer = new TransactionalCommitter(create, 'app', 10_000, 10_000);
    await committer.connect();
    FakeProducer.created[0]!.failNext = protocolError('PRODUCER_FENCED');
    await expect(committer.commit(records(1, 10), offsets, member)).rejects.toThrow('PRODUCER_FENCED');
    await committer.commit(records(1, 10), offsets, member);
    expect(FakeProducer.created).toHaveLength(1);
  });

  it('turns a refusal as too large into a typed error naming the topic and size', async () => {
    const committer = new TransactionalCommitter(create, 'app', 10_000, 10_000);
    await committer.connect();
    FakeProducer.created[0]!.failNext = protocolError('MESSAGE_TOO_LARGE');
    const failure = committer.commit(records(1, 50_000), offsets, member);
    await expect(failure).rejects.toBeInstanceOf(ProducedRecordTooLargeError);
    await expect(failure).rejects.toThrow(/~50\d{3} bytes to out\[0\]/);
  });
});

describe('TransactionalCommitter: zombie fencing without group generations', () => {
  it('checks the membership after the offsets are added and before the commit; a failed check commits nothing', async () => {
    const committer = new TransactionalCommitter(create, 'app', 10_000, 10_000);
    await committer.connect();
    const producer = FakeProducer.created[0]!;
    await committer.commit(records(1, 10), offsets, async () => void producer.steps.push('member'));
    expect(producer.steps).toEqual(['offsets', 'member', 'commit']);
    const evicted = committer.commit(records(1, 10), offsets, async () => {
      throw protocolError('UNKNOWN_MEMBER_ID');
    });
    await expect(evicted).rejects.toThrow('UNKNOWN_MEMBER_ID');
    expect(producer.committed).toBe(1);
    expect(producer.aborted).toBe(1);
  });

  it('reports a transaction the coordinator aborted after a stall as timed out, and replaces the producer', async () => {
    const committer = new TransactionalCommitter(create, 'app', 10_000, 20);
    await committer.connect();
    FakeProducer.created[0]!.failCommit = protocolError('INVALID_PRODUCER_EPOCH');
    const stalled = committer.commit(records(1, 10), offsets, () => new Promise((r) => setTimeout(r, 40)));
    await expect(stalled).rejects.toBeInstanceOf(TransactionTimedOutError);
    await committer.commit(records(1, 10), offsets, member);
    expect(FakeProducer.created).toHaveLength(2);
    expect(FakeProducer.created[1]!.committed).toBe(1);
  });
});

describe('AtLeastOnceCommitter', () => {
  it('produces in bounded sends and replaces the idempotent producer after a failure', async () => {
    const committer = new AtLeastOnceCommitter(create, consumer, 10_000);
    await committer.connect();
    FakeProducer.created[0]!.failNext = protocolError('REQUEST_TIMED_OUT');
    await expect(committer.commit(records(30, 1_000), offsets, member)).rejects.toThrow('REQUEST_TIMED_OUT');
    await committer.commit(records(30, 1_000), offsets, member);
    const second = FakeProducer.created[1]!;
    expect(second.sends.length).toBeGreaterThan(1);
    expect(second.sends.reduce((a, b) => a + b, 0)).toBe(30);
  });
});
