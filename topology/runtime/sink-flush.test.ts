import { BatchAbandonedError } from '../errors';
import type { SourceRange } from '../processor/record';
import type { Sink } from '../sink';
import { flushSinks } from './sink-flush';

function failingSink(failures: number): Sink<unknown, unknown> & { calls: number } {
  const sink = {
    name: 'flaky',
    calls: 0,
    write: () => undefined,
    discard: () => undefined,
    flush: async (): Promise<void> => {
      sink.calls += 1;
      if (sink.calls <= failures) throw new Error(`down (${sink.calls})`);
    },
  };
  return sink;
}

const range: SourceRange = { topic: 't', partition: 0, firstOffset: '0', lastOffset: '9' };

describe('flushSinks', () => {
  it('retries a failing sink with doubling backoff until it succeeds, keeping the group alive', async () => {
    const sink = failingSink(3);
    const retries: number[] = [];
    let keepAlives = 0;
    await flushSinks([sink], [range], {
      initialBackoffMs: 1,
      maxBackoffMs: 2,
      keepAlive: async () => void (keepAlives += 1),
      shouldContinue: () => true,
      onRetry: (_s, attempt) => retries.push(attempt),
    });
    expect(sink.calls).toBe(4);
    expect(retries).toEqual([1, 2, 3]);
    expect(keepAlives).toBe(3);
  });

  it('gives the batch up (to be replayed) when it must stop', async () => {
    const sink = failingSink(Number.POSITIVE_INFINITY);
    await expect(
      flushSinks([sink], [range], {
        initialBackoffMs: 1,
        maxBackoffMs: 1,
        keepAlive: async () => undefined,
        shouldContinue: () => sink.calls < 2,
        onRetry: () => undefined,
      }),
    ).rejects.toThrow(BatchAbandonedError);
    expect(sink.calls).toBe(2);
  });

  it('flushes the sinks side by side, and throws only once every flush has settled', async () => {
    const events: string[] = [];
    const sink = (name: string, fail: boolean): Sink<unknown, unknown> => ({
      name,
      write: () => undefined,
      discard: () => undefined,
      flush: async () => {
        events.push(`${name} started`);
        await new Promise((resolve) => setImmediate(resolve));
        events.push(`${name} done`);
        if (fail) throw new Error(`${name} down`);
      },
    });
    const retry = {
      initialBackoffMs: 1,
      maxBackoffMs: 1,
      keepAlive: async () => undefined,
      shouldContinue: () => false,
      onRetry: () => undefined,
    };
    await flushSinks([sink('a', false), sink('b', false)], [range], retry);
    expect(events).toEqual(['a started', 'b started', 'a done', 'b done']);

    events.length = 0;
    const slow: Sink<unknown, unknown> = {
      ...sink('slow', false),
      flush: async () => {
        events.push('slow started');
        for (let i = 0; i < 5; i += 1) await new Promise((resolve) => setImmediate(resolve));
        events.push('slow done');
      },
    };
    await expect(flushSinks([sink('failing', true), slow], [range], retry)).rejects.toThrow(
      BatchAbandonedError,
    );
    expect(events).toEqual(['failing started', 'slow started', 'failing done', 'slow done']);
  });
});
