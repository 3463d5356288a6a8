import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** Task directories are named `<sub-topology>_<partition>`: nothing else there is ever deleted. */
const TASK_ID = /^\d+_\d+$/;

/**
 * Kafka Streams' state directory cleaner (`state.cleanup.delay.ms`): the directory of a task this
 * instance no longer owns (`<stateDir>/<application>/<instance>/<task>`) is deleted once it has
 * been unowned for `delayMs`. Until then a task that comes back restores from its checkpoint
 * instead of its whole changelog; after that its disk is given back. Unowned time is counted from
 * the first `clean` that found the task unowned (after a restart, from the first call again:
 * a directory may be kept up to one delay longer, never deleted early).
 */
export class StateDirectoryCleaner {
  private readonly unownedSince = new Map<string, number>();

  constructor(
    private readonly options: {
      /** The instance's directory: one sub-directory per task. */
      readonly dir: string;
      readonly delayMs: number;
      readonly clock: () => number;
    },
  ) {}

  /**
   * Deletes the directories of tasks not in `owned` that have been unowned for the delay, and
   * returns their task ids. Called with every task the instance has assigned or open, in the same
   * turn as task creation can happen, so a task is never deleted under a store being opened.
   */
  clean(owned: ReadonlySet<string>): string[] {
    const { dir, delayMs, clock } = this.options;
    let tasks: string[];
    try {
      tasks = readdirSync(dir, { withFileTypes: true })
        .filter((entry) => entry.isDirectory() && TASK_ID.test(entry.name))
        .map((entry) => entry.name);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const now = clock();
    const present = new Set(tasks);
    for (const task of this.unownedSince.keys()) if (!present.has(task)) this.unownedSince.delete(task);
    const deleted: string[] = [];
    for (const task of tasks) {
      if (owned.has(task)) {
        this.unownedSince.delete(task);
        continue;
      }
      const since = this.unownedSince.get(task) ?? now;
      this.unownedSince.set(task, since);
      if (now - since < delayMs) continue;
      rmSync(join(dir, task), { recursive: true, force: true });
      this.unownedSince.delete(task);
      deleted.push(task);
    }
    return deleted;
  }
}
