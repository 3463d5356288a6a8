import { Registry } from 'prom-client';
import { QueryAbandonedError, QueryCapacityError, QueryGate } from './query-gate';

/** A query the test finishes by hand. */
function pending() {
  let finish!: (value: string) => void;
  const promise = new Promise<string>((resolve) => (finish = resolve));
  return { promise, finish };
}

async function metric(registry: Registry, name: string, outcome?: string): Promise<number> {
  const found = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const values = (found?.values ?? []) as { value: number; labels: Record<string, string | number> }[];
  return values
    .filter((v) => outcome === undefined || v.labels.outcome === outcome)
    .reduce((s, v) => s + v.value, 0);
}

describe('QueryGate', () => {
  let registry: Registry;
  let gate: QueryGate;
  beforeEach(() => {
    registry = new Registry();
    gate = new QueryGate({ maxRunning: 2, maxQueued: 1, maxWaitMs: 60_000, registry });
  });

  it('runs up to the cap, queues one more, answers the next 429 naming the limits, and hands slots on in order', async () => {
    const signal = new AbortController().signal;
    const a = pending();
    const b = pending();
    const started: string[] = [];
    const run = (name: string, work: Promise<string>) =>
      gate.run(signal, () => {
        started.push(name);
        return work;
      });
    const ra = run('a', a.promise);
    const rb = run('b', b.promise);
    const rc = run('c', Promise.resolve('c'));
    const rejected = run('d', Promise.resolve('d'));
    await expect(rejected).rejects.toBeInstanceOf(QueryCapacityError);
    await expect(rejected).rejects.toMatchObject({
      status: 429,
      headers: { 'Retry-After': '1' },
      message: expect.stringContaining('API_MAX_CONCURRENT_QUERIES') as unknown,
    });
    expect(started).toEqual(['a', 'b']);
    expect(await metric(registry, 'stacklens_api_queries_running')).toBe(2);
    expect(await metric(registry, 'stacklens_api_queries_queued')).toBe(1);
    a.finish('a');
    await expect(ra).resolves.toBe('a');
    await expect(rc).resolves.toBe('c');
    expect(started).toEqual(['a', 'b', 'c']);
    b.finish('b');
    await expect(rb).resolves.toBe('b');
    expect(await metric(registry, 'stacklens_api_queries_running')).toBe(0);
    expect(await metric(registry, 'stacklens_api_queries_total', 'ok')).toBe(3);
    expect(await metric(registry, 'stacklens_api_queries_total', 'rejected')).toBe(1);
  });

  it('never starts a query whose client left while it waited, and drops the result of one that left while it ran', async () => {
    const first = pending();
    const running = new AbortController();
    const waiting = new AbortController();
    let waitingStarted = false;
    const r1 = gate.run(running.signal, () => first.promise);
    // A second running query that never ends: the waiting one can only get a slot by queueing.
    void gate.run(new AbortController().signal, () => new Promise<string>(() => undefined));
    const r3 = gate.run(waiting.signal, () => {
      waitingStarted = true;
      return Promise.resolve('never');
    });
    waiting.abort();
    await expect(r3).rejects.toBeInstanceOf(QueryAbandonedError);
    expect(await metric(registry, 'stacklens_api_queries_queued')).toBe(0);
    running.abort();
    first.finish('too late');
    await expect(r1).rejects.toBeInstanceOf(QueryAbandonedError);
    expect(waitingStarted).toBe(false);
    expect(await metric(registry, 'stacklens_api_queries_total', 'abandoned_waiting')).toBe(1);
    expect(await metric(registry, 'stacklens_api_queries_total', 'abandoned_running')).toBe(1);
    expect(await metric(registry, 'stacklens_api_queries_running')).toBe(1);
  });

  it('answers 429 to a query that waited longer than maxWaitMs', async () => {
    jest.useFakeTimers();
    try {
      const slow = new QueryGate({ maxRunning: 1, maxQueued: 5, maxWaitMs: 3_000, registry });
      const signal = new AbortController().signal;
      void slow.run(signal, () => new Promise<string>(() => undefined));
      const waiting = slow.run(signal, () => Promise.resolve('x'));
      jest.advanceTimersByTime(3_000);
      await expect(waiting).rejects.toMatchObject({ status: 429, headers: { 'Retry-After': '3' } });
      expect(await metric(registry, 'stacklens_api_queries_total', 'timed_out_waiting')).toBe(1);
    } finally {
      jest.useRealTimers();
    }
  });
});
