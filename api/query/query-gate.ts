import { Counter, Gauge, type Registry } from 'prom-client';
import { ApiError } from '../errors';

/** The query cap and its wait queue are full, or a query waited in the queue too long: retry later. */
export class QueryCapacityError extends ApiError {
  readonly status = 429;
  readonly code = 'too_many_queries';
  override readonly headers: Readonly<Record<string, string>>;
  constructor(detail: string, retryAfterSeconds: number) {
    super(detail);
    this.headers = { 'Retry-After': String(retryAfterSeconds) };
  }
}

/**
 * The client closed its connection before the answer was ready. Nothing can be sent back; the status is
 * the conventional "client closed request" one, for the error handler and logs only.
 */
export class QueryAbandonedError extends ApiError {
  readonly status = 499;
  readonly code = 'client_closed_request';
}

export interface QueryGateOptions {
  /** Queries run at once (API_MAX_CONCURRENT_QUERIES). */
  maxRunning: number;
  /** Queries waiting for a slot (API_MAX_QUEUED_QUERIES); one more is answered 429 at once. */
  maxQueued: number;
  /** Longest wait in the queue before the query is answered 429. */
  maxWaitMs: number;
  registry: Registry;
}

type Outcome = 'ok' | 'failed' | 'rejected' | 'timed_out_waiting' | 'abandoned_waiting' | 'abandoned_running';

interface Waiter {
  grant(): void;
}

/**
 * Admission control for the API's ClickHouse queries: at most `maxRunning` at once, at most `maxQueued`
 * waiting (first come, first served), the rest answered 429 with Retry-After at once, so a burst of
 * heavy queries costs a bounded amount of ClickHouse memory and CPU and never piles up without end.
 * A query whose client goes away while it waits leaves the queue without running; a running one keeps
 * its slot until it has really stopped (on chDB the engine finishes what it started), so clients that
 * disconnect and retry cannot run more than `maxRunning` queries between them.
 */
export class QueryGate {
  private running = 0;
  private readonly waiting: Waiter[] = [];
  private readonly metrics: ReturnType<typeof queryMetrics>;

  constructor(private readonly options: QueryGateOptions) {
    this.metrics = queryMetrics(options.registry);
  }

  /**
   * Runs `query` once a slot is free; `signal` aborts when the client is gone, and then the result,
   * if the query still finished, is dropped (QueryAbandonedError) rather than written to a closed socket.
   */
  async run<T>(signal: AbortSignal, query: () => Promise<T>): Promise<T> {
    await this.acquire(signal);
    let result: T;
    try {
      result = await query();
    } catch (err) {
      this.count(signal.aborted ? 'abandoned_running' : 'failed');
      throw signal.aborted ? abandoned(signal) : err;
    } finally {
      this.release();
    }
    this.count(signal.aborted ? 'abandoned_running' : 'ok');
    if (signal.aborted) throw abandoned(signal);
    return result;
  }

  private acquire(signal: AbortSignal): Promise<void> {
    if (signal.aborted) {
      this.count('abandoned_waiting');
      return Promise.reject(abandoned(signal));
    }
    if (this.running < this.options.maxRunning) {
      this.take();
      return Promise.resolve();
    }
    if (this.waiting.length >= this.options.maxQueued) {
      this.count('rejected');
      return Promise.reject(
        new QueryCapacityError(
          `${this.options.maxRunning} queries are running and ${this.options.maxQueued} waiting ` +
            '(API_MAX_CONCURRENT_QUERIES, API_MAX_QUEUED_QUERIES); retry later',
          1,
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const leave = (outcome: Outcome, error: Error) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.dequeue(waiter);
        this.count(outcome);
        reject(error);
      };
      const onAbort = () => leave('abandoned_waiting', abandoned(signal));
      const timer = setTimeout(
        () =>
          leave(
            'timed_out_waiting',
            new QueryCapacityError(
              `waited ${this.options.maxWaitMs} ms for one of API_MAX_CONCURRENT_QUERIES=` +
                `${this.options.maxRunning} query slots; retry later`,
              Math.max(1, Math.ceil(this.options.maxWaitMs / 1_000)),
            ),
          ),
        this.options.maxWaitMs,
      );
      const waiter: Waiter = {
        grant: () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          this.metrics.queued.dec();
          resolve();
        },
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
      this.metrics.queued.inc();
    });
  }

  private dequeue(waiter: Waiter): void {
    const index = this.waiting.indexOf(waiter);
    if (index >= 0) {
      this.waiting.splice(index, 1);
      this.metrics.queued.dec();
    }
  }

  private take(): void {
    this.running++;
    this.metrics.running.inc();
  }

  /** Hands the slot straight to the longest waiter, so a newcomer cannot overtake the queue. */
  private release(): void {
    this.running--;
    this.metrics.running.dec();
    const next = this.waiting.shift();
    if (next !== undefined) {
      this.take();
      next.grant();
    }
  }

  private count(outcome: Outcome): void {
    this.metrics.queries.labels(outcome).inc();
  }
}

function abandoned(signal: AbortSignal): Error {
  return signal.reason instanceof QueryAbandonedError
    ? signal.reason
    : new QueryAbandonedError('the client closed the connection');
}

/** Shared by every API created on one registry (tests create several): reuse instead of re-registering. */
function queryMetrics(registry: Registry) {
  const reuse = <M>(name: string, make: () => M): M =>
    (registry.getSingleMetric(name) as M | undefined) ?? make();
  return {
    running: reuse(
      'stacklens_api_queries_running',
      () =>
        new Gauge({
          name: 'stacklens_api_queries_running',
          help: 'API ClickHouse queries holding a slot (API_MAX_CONCURRENT_QUERIES)',
          registers: [registry],
        }),
    ),
    queued: reuse(
      'stacklens_api_queries_queued',
      () =>
        new Gauge({
          name: 'stacklens_api_queries_queued',
          help: 'API ClickHouse queries waiting for a slot (API_MAX_QUEUED_QUERIES)',
          registers: [registry],
        }),
    ),
    queries: reuse(
      'stacklens_api_queries_total',
      () =>
        new Counter({
          name: 'stacklens_api_queries_total',
          help: 'API requests that query ClickHouse, by outcome: ok, failed, rejected (cap and queue full), timed_out_waiting, abandoned_waiting (client gone before the query started), abandoned_running (client gone while it ran)',
          labelNames: ['outcome'] as const,
          registers: [registry],
        }),
    ),
  };
}
