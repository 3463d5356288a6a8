import type { Consumer, Producer } from 'kafkajs';
import type { ProducedRecord } from '../processor/record';
import { AtLeastOnceCommitter, TransactionalCommitter, type OffsetToCommit } from './committer';
import { ProducedRecordTooLargeError } from './kafka-errors';

/** A stand-in for a kafkajs producer: records the calls; `failNext` makes the next send throw. */
class FakeProducer {
  static created: FakeProducer[] = [];
  readonly sends: number[] = [];
  connected = false;
  failNext: unknown = undefined;
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

  private async send(topicMessages: { messages: unknown[] }[]): Promise<void> {
    if (this.failNext !== undefined) {
      const error = this.failNext;
      this.failNext = undefined;
      throw error;
    }
    this.sends.push(topicMessages.reduce((n, t) => n + t.messages.length, 0));
  }

  async sendBatch({ topicMessages }: { topicMessages: { messages: unknown[] }[] }): Promise<void> {
    await this.send(topicMessages);
  }

  async transaction() {
    let active = true;
    return {
      sendBatch: ({ topicMessages }: { topicMessages: { messages: unknown[] }[] }) =>
        this.send(topicMessages),
      sendOffsets: async () => undefined,
      commit: async () => {
        active = false;
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
    const committer = new TransactionalCommitter(create, 'app', 10_000);
    await committer.connect();
    await committer.commit(records(30, 1_000), offsets);
    const producer = FakeProducer.created[0]!;
    expect(producer.sends.length).toBeGreaterThan(1);
    expect(producer.sends.reduce((a, b) => a + b, 0)).toBe(30);
    expect(producer.committed).toBe(1);
  });

  it('aborts after a failed send and replaces the producer before the next commit', async () => {
    const committer = new TransactionalCommitter(create, 'app', 10_000);
    await committer.connect();
    const first = FakeProducer.created[0]!;
    first.failNext = protocolError('NOT_LEADER_FOR_PARTITION');
    await expect(committer.commit(records(3, 10), offsets)).rejects.toThrow('NOT_LEADER_FOR_PARTITION');
    expect(first.aborted).toBe(1);
    await committer.commit(records(3, 10), offsets);
    const second = FakeProducer.created[1]!;
    expect(first.connected).toBe(false);
    expect(second.connected).toBe(true);
    expect(second.committed).toBe(1);
  });

  it('keeps the producer after fencing: re-initializing would fence the other instance', async () => {
    const committer = new TransactionalCommitter(create, 'app', 10_000);
    await committer.connect();
    FakeProducer.created[0]!.failNext = protocolError('PRODUCER_FENCED');
    await expect(committer.commit(records(1, 10), offsets)).rejects.toThrow('PRODUCER_FENCED');
    await committer.commit(records(1, 10), offsets);
    expect(FakeProducer.created).toHaveLength(1);
  });

  it('turns a refusal as too large into a typed error naming the topic and size', async () => {
    const committer = new TransactionalCommitter(create, 'app', 10_000);
    await committer.connect();
    FakeProducer.created[0]!.failNext = protocolError('MESSAGE_TOO_LARGE');
    const failure = committer.commit(records(1, 50_000), offsets);
    await expect(failure).rejects.toBeInstanceOf(ProducedRecordTooLargeError);
    await expect(failure).rejects.toThrow(/~50\d{3} bytes to out\[0\]/);
  });
});

describe('AtLeastOnceCommitter', () => {
  it('produces in bounded sends and replaces the idempotent producer after a failure', async () => {
    const committer = new AtLeastOnceCommitter(create, consumer, 10_000);
    await committer.connect();
    FakeProducer.created[0]!.failNext = protocolError('REQUEST_TIMED_OUT');
    await expect(committer.commit(records(30, 1_000), offsets)).rejects.toThrow('REQUEST_TIMED_OUT');
    await committer.commit(records(30, 1_000), offsets);
    const second = FakeProducer.created[1]!;
    expect(second.sends.length).toBeGreaterThan(1);
    expect(second.sends.reduce((a, b) => a + b, 0)).toBe(30);
  });
});
