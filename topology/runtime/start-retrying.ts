import type { Admin } from 'kafkajs';
import type { Logger } from '../../common/logger';
import { isNotReadyYetError } from './kafka-errors';

/** What startRetrying starts: a StreamsApp, or anything started and stopped the same way. */
export interface Startable {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface NotReadyRetryOptions {
  /** Tries in all. Default 5. */
  attempts?: number;
  /** Wait before the second try; doubled before each next one. */
  backoffMs?: number;
  /** Called before each wait, with the error of the try that failed. */
  onRetry?: (error: unknown, attempt: number, backoffMs: number) => void;
}

/**
 * Runs `operation` again, after a doubling backoff, while it fails because the broker does not serve
 * yet what was just created: right after topics or a group are created or move, a busy broker can
 * still answer "This server does not host this topic-partition" or "is not the leader for that
 * topic-partition" for a moment, and kafkajs's admin retries only the first. Kafka Streams retries
 * such errors within default.api.timeout.ms. Any other error, or the last one, is thrown.
 */
export async function retryWhileNotReady<T>(
  operation: () => Promise<T>,
  options: NotReadyRetryOptions = {},
): Promise<T> {
  const attempts = options.attempts ?? 5;
  let backoffMs = options.backoffMs ?? 200;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (attempt >= attempts || !isNotReadyYetError(error)) throw error;
      options.onRetry?.(error, attempt, backoffMs);
      await new Promise((resolve) => setTimeout(resolve, backoffMs));
      backoffMs *= 2;
    }
  }
}

/** The admin calls that look a topic's offsets up, which every part of the runtime makes. */
type OffsetLookups = Pick<Admin, 'fetchTopicOffsets' | 'fetchTopicOffsetsByTimestamp'>;

/**
 * `admin` with its offset lookups retried while the broker is not ready (retryWhileNotReady): tasks
 * are created, changelogs restored and bounded runs planned right after their topics were created,
 * when a lookup can meet a partition whose leader has not settled yet. kafkajs's admin refreshes its
 * metadata on every call, so a retry reaches the new leader.
 */
export function withOffsetLookupRetries<A extends OffsetLookups>(admin: A): A {
  return {
    ...admin,
    fetchTopicOffsets: (topic: string) => retryWhileNotReady(() => admin.fetchTopicOffsets(topic)),
    fetchTopicOffsetsByTimestamp: (topic: string, timestamp?: number) =>
      retryWhileNotReady(() => admin.fetchTopicOffsetsByTimestamp(topic, timestamp)),
  };
}

export interface StartRetryingOptions {
  log: Logger;
  /** Starts tried in all. Default 5. */
  attempts?: number;
  /** Wait before the second start; doubled before each next one. Default 500 ms. */
  backoffMs?: number;
}

/**
 * Starts a fresh application from `create`, and again (after stopping the failed one) while a start
 * fails because the broker does not serve yet what was just created (retryWhileNotReady): an
 * application started once per process (the pipeline and the applications beside it) would
 * otherwise end the process. Any other error is thrown at once.
 */
export function startRetrying<A extends Startable>(
  create: () => A,
  options: StartRetryingOptions,
): Promise<A> {
  return retryWhileNotReady(
    async () => {
      const app = create();
      try {
        await app.start();
        return app;
      } catch (error) {
        await app.stop().catch(() => undefined);
        throw error;
      }
    },
    {
      attempts: options.attempts,
      backoffMs: options.backoffMs ?? 500,
      onRetry: (error, attempt, backoffMs) =>
        options.log.warn(
          { err: error, attempt, backoffMs },
          'start failed: the broker is not ready yet, retrying',
        ),
    },
  );
}
