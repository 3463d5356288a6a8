import { setTimeout as delay } from 'node:timers/promises';

/**
 * Polls `condition` until it holds, failing after `timeoutMs` with what was awaited: the way
 * integration tests wait on real services, instead of sleeping for a guessed time.
 */
export async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
  intervalMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(intervalMs);
  }
}
