import { setTimeout as delay } from 'node:timers/promises';

/**
 * Polls `condition` until it holds, failing after `timeoutMs` with what was awaited: the way
 * integration tests wait on real services, instead of sleeping for a guessed time. `what` may be a
 * function, read at the timeout, to say how far the condition got.
 */
export async function waitFor(
  what: string | (() => string),
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
  intervalMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      const awaited = typeof what === 'string' ? what : what();
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${awaited}`);
    }
    await delay(intervalMs);
  }
}
