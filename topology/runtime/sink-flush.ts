import { BatchAbandonedError } from '../errors';
import type { SourceRange } from '../processor/record';
import type { Sink } from '../sink';

export interface FlushRetry {
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  /** Keeps the consumer's group membership alive while waiting. */
  readonly keepAlive: () => Promise<void>;
  /** False once the batch must be given up (stopping, partition revoked). */
  readonly shouldContinue: () => boolean;
  readonly onRetry: (sink: Sink<unknown, unknown>, attempt: number, error: unknown) => void;
}

/**
 * Flushes every sink a checkpoint wrote to, retrying a failing one with exponential backoff for as
 * long as it takes (nothing is skipped), unless the checkpoint must be given up, which throws
 * BatchAbandonedError so its records are processed again later instead of committed.
 */
export async function flushSinks(
  sinks: Iterable<Sink<unknown, unknown>>,
  ranges: readonly SourceRange[],
  retry: FlushRetry,
): Promise<void> {
  // Side by side: sinks are independent until the commit, and a sink whose client has connections of
  // its own (a ClickHouse server's pool, S3) inserts while the others do. Every flush has settled
  // before this returns or throws, so none is still running when the checkpoint is retried.
  const results = await Promise.allSettled([...sinks].map((sink) => flushOne(sink, ranges, retry)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}

async function flushOne(
  sink: Sink<unknown, unknown>,
  ranges: readonly SourceRange[],
  retry: FlushRetry,
): Promise<void> {
  let backoff = retry.initialBackoffMs;
  for (let attempt = 1; ; attempt += 1) {
    try {
      await sink.flush(ranges);
      return;
    } catch (error) {
      if (!retry.shouldContinue())
        throw new BatchAbandonedError(`sink ${sink.name} flush given up`, { cause: error });
      retry.onRetry(sink, attempt, error);
      await new Promise((resolve) => setTimeout(resolve, backoff));
      await retry.keepAlive();
      backoff = Math.min(backoff * 2, retry.maxBackoffMs);
    }
  }
}
