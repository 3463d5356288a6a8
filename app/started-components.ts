import type { Logger } from '../common/logger';

/**
 * The stops of what a start has started, run newest first: by the running process's stop, or at
 * once when a later step of the start fails, so a failed start leaves nothing running (a group
 * member or an archive thread would outlive the error in an embedding process).
 */
export class StartedComponents {
  private readonly stops: (() => Promise<unknown>)[] = [];

  add(stop: () => Promise<unknown>): void {
    this.stops.push(stop);
  }

  /** Runs the stops newest first, each once; the first failure ends the stop and is thrown. */
  async stopAll(): Promise<void> {
    for (const stop of this.stops.splice(0).reverse()) await stop();
  }

  /** After a failed start: runs every stop, newest first, logging the ones that fail. */
  async stopAfterFailedStart(log: Logger): Promise<void> {
    for (const stop of this.stops.splice(0).reverse()) {
      await stop().catch((err: unknown) => log.warn({ err }, 'stopping what had started failed'));
    }
  }
}
