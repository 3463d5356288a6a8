import { keyId } from './store';

/** What the cache needs of a changelog record: where it goes and which key it changes. */
export interface ChangelogChange {
  readonly topic: string;
  readonly partition?: number;
  readonly key: Buffer | null;
}

/**
 * Kafka Streams' record cache for changelogs: within one run, a store's changelog needs only the
 * last change of each key, since restoring applies changes in order and only the last one per key
 * survives (compaction would drop the others anyway). Stores such as a correlator or an alert
 * state update the same key many times per run, so this cuts the records and bytes produced.
 * A deletion is kept as a tombstone (null value) even when the key was first put in the same run:
 * the key may exist in the changelog from earlier runs.
 */
export class ChangelogCache<R extends ChangelogChange> {
  private readonly latest = new Map<string, R>();

  /** Keeps `change` as the latest of its key; returns the change it replaces, if any. */
  put(change: R): R | undefined {
    const id = `${change.topic}\u0000${change.partition ?? -1}\u0000${keyId(change.key)}`;
    const replaced = this.latest.get(id);
    // Delete then set moves the key to the end: changes come out in order of their last write.
    if (replaced !== undefined) this.latest.delete(id);
    this.latest.set(id, change);
    return replaced;
  }

  /** The last change of every key, in order of last write. */
  changes(): R[] {
    return [...this.latest.values()];
  }

  get size(): number {
    return this.latest.size;
  }
}
