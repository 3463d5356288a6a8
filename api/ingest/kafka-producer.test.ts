import { KafkaJSError, type Producer } from 'kafkajs';
import { IngestNotStoredError, kafkaIngestProducer } from './kafka-producer';

/**
 * A stand-in for kafkajs's transactional producer that records what each transaction sent and how it
 * ended, and fails the steps it is told to, once each.
 */
class FakeProducer {
  readonly transactions: { sent: string[]; outcome?: 'committed' | 'aborted' }[] = [];
  connected = false;
  released = false;
  /** A transaction whose commit or abort failed leaves kafkajs unable to begin another. */
  wedged = false;

  constructor(private readonly failures: Set<'send' | 'commit' | 'abort'>) {}

  connect(): Promise<void> {
    this.connected = true;
    return Promise.resolve();
  }

  disconnect(): Promise<void> {
    this.released = true;
    return Promise.resolve();
  }

  transaction() {
    if (this.wedged) return Promise.reject(new KafkaJSError('transaction in progress'));
    const record: { sent: string[]; outcome?: 'committed' | 'aborted' } = { sent: [] };
    this.transactions.push(record);
    const fail = (step: 'send' | 'commit' | 'abort') => {
      if (!this.failures.delete(step)) return false;
      if (step !== 'send') this.wedged = true;
      return true;
    };
    return Promise.resolve({
      send: ({ messages }: { messages: { value: Buffer | string }[] }) => {
        if (fail('send')) return Promise.reject(new KafkaJSError('broker gone'));
        record.sent.push(...messages.map((m) => m.value.toString()));
        return Promise.resolve([]);
      },
      commit: () => {
        if (fail('commit')) return Promise.reject(new KafkaJSError('no answer to EndTxn'));
        record.outcome = 'committed';
        return Promise.resolve();
      },
      abort: () => {
        if (fail('abort')) return Promise.reject(new KafkaJSError('coordinator unreachable'));
        record.outcome = 'aborted';
        return Promise.resolve();
      },
    });
  }
}

function harness(failuresOfFirst: ('send' | 'commit' | 'abort')[]) {
  const producers: FakeProducer[] = [];
  const ingest = kafkaIngestProducer(
    () => {
      const producer = new FakeProducer(new Set(producers.length === 0 ? failuresOfFirst : []));
      producers.push(producer);
      return producer as unknown as Producer;
    },
    { ackTimeoutMs: 1_000, maxSendBytes: 1_000 },
  );
  const produce = (value: string) => ingest.produce('t', [{ value }]);
  return { ingest, producers, produce };
}

describe('kafkaIngestProducer', () => {
  it('answers on the transaction outcome: a failed send is aborted and reported as definitely not stored', async () => {
    const { ingest, producers, produce } = harness(['send']);
    await ingest.connect();
    const failed = await produce('a').catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(IngestNotStoredError);
    expect((failed as IngestNotStoredError).definite).toBe(true);
    expect(producers[0]!.transactions[0]!.outcome).toBe('aborted');
    await produce('b');
    expect(producers.flatMap((p) => p.transactions.filter((t) => t.outcome === 'committed'))).toEqual([
      { sent: ['b'], outcome: 'committed' },
    ]);
  });

  it('replaces a producer whose commit failed, with an unknown outcome reported, and goes on', async () => {
    const { producers, produce } = harness(['commit']);
    const failed = await produce('a').catch((e: unknown) => e);
    expect((failed as IngestNotStoredError).definite).toBe(false);
    await produce('b');
    expect(producers).toHaveLength(2);
    expect(producers[0]!.released).toBe(true);
    expect(producers[1]!.connected).toBe(true);
    expect(producers[1]!.transactions).toEqual([{ sent: ['b'], outcome: 'committed' }]);
  });

  it('replaces a producer whose abort failed, and goes on', async () => {
    const { producers, produce } = harness(['send', 'abort']);
    await expect(produce('a')).rejects.toMatchObject({ definite: true });
    await produce('b');
    expect(producers).toHaveLength(2);
    expect(producers[1]!.transactions).toEqual([{ sent: ['b'], outcome: 'committed' }]);
  });

  it('lets requests that arrive during a transaction share the next one', async () => {
    const { producers, produce } = harness([]);
    const first = produce('a');
    const rest = [produce('b'), produce('c')];
    await Promise.all([first, ...rest]);
    expect(producers[0]!.transactions).toEqual([
      { sent: ['a'], outcome: 'committed' },
      { sent: ['b', 'c'], outcome: 'committed' },
    ]);
  });
});
