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

/**
 * `work`, or a failure naming `what` once `timeoutMs` passed without it settling: a setup step that
 * stalls then says which one it was, instead of leaving a bare hook timeout.
 */
export async function within<T>(what: string, work: Promise<T>, timeoutMs = 30_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
