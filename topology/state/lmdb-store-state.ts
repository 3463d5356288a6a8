import { CommitOverlay, type Change } from './commit-overlay';
import { LmdbEnvironment, RESTORE_BATCH } from './lmdb-environment';
import type { PersistentState } from './store';
import { ValueCache } from './value-cache';

/** A change of a persistent store: the entry's LMDB key in the `data` database, and its key object. */
export interface StoreChange<K, V> extends Change<V> {
  readonly key: K;
  readonly dataKey: Buffer;
}

/**
 * Writes one entry (null bytes: removes it) within the current LMDB transaction: synchronously
 * (restoration) or as part of an asynchronous transaction (commit). A store with an index writes it too.
 */
export type EntryWriter = (dataKey: Buffer, bytes: Buffer | null, sync: boolean) => void;

/**
 * What the LMDB stores have in common: the disk content (`data` database and checkpoint offset),
 * the changes not on disk yet, the cache of deserialized values, the entry count, and the
 * PersistentState protocol that makes the disk follow the committed changelog (see
 * LmdbKeyValueStore). The stores add how their keys are laid out and queried.
 */
export class LmdbStoreState<Db extends string, K, V, C extends StoreChange<K, V>> implements PersistentState {
  readonly env: LmdbEnvironment<Db | 'data'>;
  readonly overlay: CommitOverlay<V, C>;
  readonly cache: ValueCache<{ readonly key: K; readonly value: V }>;
  private count: number;
  private restoreBatch: [Buffer, Buffer | null][] = [];
  private closed = false;
  /** Writes an entry to `data` and the indexes. */
  private readonly write: EntryWriter;

  constructor(options: {
    readonly dir: string;
    /** Databases besides `data` (indexes). */
    readonly indexes: readonly Db[];
    readonly cacheBytes: number;
    readonly serializeValue: (value: V) => Buffer | null;
    /** Groups changes so that one group's are found without a scan (CommitOverlay.inGroup). */
    readonly groupOf?: (change: C) => string;
    /** Writes an entry's indexes along with its `data` record (the data record is written here). */
    readonly writeIndexes?: EntryWriter;
  }) {
    this.env = new LmdbEnvironment<Db | 'data'>(options.dir, ['data', ...options.indexes]);
    this.overlay = new CommitOverlay(options.serializeValue, options.groupOf);
    this.cache = new ValueCache(options.cacheBytes);
    this.count = this.env.entryCount('data');
    const data = this.env.dbs.data;
    this.write = (dataKey, bytes, sync) => {
      if (bytes === null) {
        if (sync) data.removeSync(dataKey);
        else void data.remove(dataKey);
      } else if (sync) data.putSync(dataKey, bytes);
      else void data.put(dataKey, bytes);
      options.writeIndexes?.(dataKey, bytes, sync);
    };
  }

  /** Entries on disk, with the uncommitted puts and deletions counted. */
  size(): number {
    return this.count;
  }

  /** The value of an entry: uncommitted change, else cache, else disk (then cached). */
  get(id: string, dataKey: Buffer, key: K, deserialize: (bytes: Buffer) => V): V | undefined {
    const change = this.overlay.get(id);
    if (change !== undefined) return change.value ?? undefined;
    const cached = this.cache.get(id);
    if (cached !== undefined) return cached.value;
    const bytes = this.env.dbs.data.getBinary(dataKey);
    if (bytes === undefined) return undefined;
    const value = deserialize(bytes);
    this.cache.remember(id, { key, value }, bytes.length);
    return value;
  }

  /** Whether an entry exists (uncommitted changes included). */
  exists(id: string, dataKey: Buffer): boolean {
    const change = this.overlay.get(id);
    if (change !== undefined) return change.value !== null;
    return this.cache.has(id) || this.env.dbs.data.doesExist(dataKey);
  }

  /** Records a put or a deletion (value null) for the open checkpoint; false for a deletion of nothing. */
  change(id: string, change: C): boolean {
    const existed = this.exists(id, change.dataKey);
    if (change.value === null) {
      if (!existed) return false;
      this.cache.forget(id);
      this.count -= 1;
    } else if (!existed) {
      this.count += 1;
    }
    this.overlay.set(id, change);
    return true;
  }

  /** One changelog record to restore (written in batches, see `restored`). */
  restore(dataKey: Buffer, value: Buffer | null): void {
    this.restoreBatch.push([dataKey, value]);
    if (this.restoreBatch.length >= RESTORE_BATCH) this.writeRestored(undefined);
  }

  restoreFrom(): bigint {
    return this.env.offset();
  }

  restored(nextOffset: bigint): void {
    this.writeRestored(nextOffset);
    this.count = this.env.entryCount('data');
  }

  wipe(): void {
    this.env.wipe();
    this.restoreBatch = [];
    this.overlay.clear();
    this.cache.clear();
    this.count = 0;
  }

  prepareCommit(): void {
    if (!this.closed) this.overlay.seal();
  }

  async committed(changelogEnd: bigint | undefined): Promise<void> {
    const changes = this.overlay.sealed();
    if (this.closed || changes.size === 0) return;
    // Until the write is durable, reads find the changes in the overlay, and the next checkpoint is
    // not sealed (CheckpointCommitter awaits this before it commits again).
    await this.env.writeCommitted(() => {
      for (const change of changes.values()) this.write(change.dataKey, change.bytes ?? null, false);
    }, changelogEnd);
    // Closed meanwhile: nothing more to keep in memory.
    if (!this.overlay.written(changes)) return;
    // Committed values stay at hand: the next records of a trace, a key's next count or window, read them.
    for (const [id, change] of changes) {
      if (change.value !== null && !this.overlay.isPending(id)) {
        this.cache.remember(id, { key: change.key, value: change.value }, change.bytes?.length ?? 0);
      }
    }
  }

  /** The task is closed: files released, what was not committed forgotten. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.overlay.clear();
    this.cache.clear();
    this.env.close();
  }

  private writeRestored(nextOffset: bigint | undefined): void {
    const batch = this.restoreBatch;
    this.restoreBatch = [];
    this.env.writeRestored(() => {
      for (const [dataKey, value] of batch) this.write(dataKey, value, true);
    }, nextOffset);
  }
}
