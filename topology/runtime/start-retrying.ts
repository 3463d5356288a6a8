import type { Logger } from '../../common/logger';
import { isNotReadyYetError } from './kafka-errors';

/** What startRetrying starts: a StreamsApp, or anything started and stopped the same way. */
export interface Startable {
  start(): Promise<void>;
  stop(): Promise<void>;
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
 * fails because the broker does not serve yet what was just created: right after topics or a group
 * are created, a busy broker can still answer "This server does not host this topic-partition" for a
 * moment. Kafka Streams retries such errors within default.api.timeout.ms; an application started
 * once per process (the pipeline and the applications beside it) would otherwise end the process.
 * Any other error is thrown at once.
 */
export async function startRetrying<A extends Startable>(
  create: () => A,
  options: StartRetryingOptions,
): Promise<A> {
  const attempts = options.attempts ?? 5;
  let backoffMs = options.backoffMs ?? 500;
  for (let attempt = 1; ; attempt++) {
    const app = create();
    try {
      await app.start();
      return app;
    } catch (error) {
      await app.stop().catch(() => undefined);
      if (attempt >= attempts || !isNotReadyYetError(error)) throw error;
      options.log.warn(
        { err: error, attempt, backoffMs },
        'start failed: the broker is not ready yet, retrying',
      );
      await new Promise((resolve) => setTimeout(resolve, backoffMs));
      backoffMs *= 2;
    }
  }
}
