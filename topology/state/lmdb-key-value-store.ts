import type { Database } from 'lmdb';
import { StateStoreKeyTooLargeError } from '../errors';
import type { Serde } from '../serde';
import { CommitOverlay, type Change } from './commit-overlay';
import type { KeyValueStore } from './key-value-store';
import {
  LMDB_MAX_KEY_BYTES,
  LmdbEnvironment,
  RESTORE_BATCH,
  storeDirectory,
  type PersistentStoreContext,
} from './lmdb-environment';
import { keyId, type ChangelogWriter, type PersistentState } from './store';
import { ValueCache } from './value-cache';

interface KeyChange<K, V> extends Change<V> {
  readonly key: K;
  readonly dataKey: Buffer;
}

interface Cached<K, V> {
  readonly key: K;
  readonly value: V;
}

/** One byte of the LMDB key goes to the null-key marker. */
const MAX_KEY_BYTES = LMDB_MAX_KEY_BYTES - 1;

/**
 * A key-value store on disk (LMDB, memory-mapped), Kafka Streams' RocksDB store with its
 * `.checkpoint`: a store of any number of keys whose memory is bounded by a cache of deserialized
 * values (`cacheBytes`), plus the changes of the commit in progress.
 *
 * Exactly-once: the disk only ever holds committed changelog content. Changes stay in memory
 * (`pending`) until the runtime seals a checkpoint (`prepareCommit`: they move to `committing`,
 * serialized then, as the changelog record is), and are written, together with the changelog
 * offset they reach, in one LMDB transaction once Kafka committed them (`committed`). A crash
 * before that leaves the previous state and offset on disk, which restoration continues from; a
 * checkpoint that is abandoned closes the store and its changes are simply never written (Kafka
 * Streams under EOS wipes a store after an unclean shutdown instead, having no atomic checkpoint).
 *
 * Values are shared objects, as in the in-memory store: a processor that changes a value it got
 * must put it again (a value evicted from the cache is read from disk afresh).
 */
export class LmdbKeyValueStore<K, V> implements KeyValueStore<K, V> {
  readonly kind = 'key-value' as const;
  readonly persistent: PersistentState;
  private readonly env: LmdbEnvironment<'data'>;
  private readonly data: Database<Buffer, Buffer>;
  private readonly overlay: CommitOverlay<V, KeyChange<K, V>>;
  private readonly cache: ValueCache<Cached<K, V>>;
  private count: number;
  private restoreBatch: [Buffer, Buffer | null][] = [];
  private closed = false;

  constructor(
    readonly name: string,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    private readonly changelog: ChangelogWriter,
    context: PersistentStoreContext,
  ) {
    this.env = new LmdbEnvironment(storeDirectory(context, name), ['data']);
    this.data = this.env.dbs.data;
    this.overlay = new CommitOverlay((value) => valueSerde.serialize(value));
    this.cache = new ValueCache(context.persistence.cacheBytes);
    this.count = this.env.entryCount('data');
    this.persistent = {
      restoreFrom: () => this.env.offset(),
      restored: (nextOffset) => this.flushRestored(nextOffset),
      wipe: () => this.wipe(),
      prepareCommit: () => {
        if (!this.closed) this.overlay.seal();
      },
      committed: (changelogEnd) => this.commitPrepared(changelogEnd),
    };
  }

  get(key: K): V | undefined {
    const keyBytes = this.keySerde.serialize(key);
    const id = keyId(keyBytes);
    const change = this.overlay.get(id);
    if (change !== undefined) return change.value ?? undefined;
    const cached = this.cache.get(id);
    if (cached !== undefined) return cached.value;
    const bytes = this.data.getBinary(dataKey(keyBytes));
    if (bytes === undefined) return undefined;
    const value = this.valueSerde.deserialize(bytes);
    this.cache.remember(id, { key, value }, bytes.length);
    return value;
  }

  put(key: K, value: V): void {
    const keyBytes = this.keySerde.serialize(key);
    const id = keyId(keyBytes);
    const existed = this.exists(id, keyBytes);
    const change: KeyChange<K, V> = { key, dataKey: dataKey(keyBytes), value };
    this.overlay.set(id, change);
    if (!existed) this.count += 1;
    this.changelog.append(keyBytes ?? Buffer.alloc(0), () => this.overlay.bytes(change));
  }

  delete(key: K): void {
    const keyBytes = this.keySerde.serialize(key);
    const id = keyId(keyBytes);
    if (!this.exists(id, keyBytes)) return;
    this.overlay.set(id, { key, dataKey: dataKey(keyBytes), value: null, bytes: null });
    this.cache.forget(id);
    this.count -= 1;
    this.changelog.append(keyBytes ?? Buffer.alloc(0), null);
  }

  /** Disk content in key-byte order, with the uncommitted changes over it (those last). */
  *entries(): IterableIterator<[K, V]> {
    const overlay = this.overlay.snapshot();
    for (const { key, value } of this.data.getRange()) {
      const keyBytes = key[0] === 0 ? null : key.subarray(1);
      const id = keyId(keyBytes);
      if (overlay.has(id)) continue;
      const cached = this.cache.peek(id);
      yield [
        cached?.key ?? this.keySerde.deserialize(keyBytes),
        cached?.value ?? this.valueSerde.deserialize(value),
      ];
    }
    for (const { key, value } of overlay.values()) if (value !== null) yield [key, value];
  }

  size(): number {
    return this.count;
  }

  restore(key: Buffer, value: Buffer | null): void {
    this.restoreBatch.push([dataKey(key.length === 0 ? null : key), value]);
    if (this.restoreBatch.length >= RESTORE_BATCH) this.writeRestored(undefined);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.overlay.clear();
    this.cache.clear();
    this.env.close();
  }

  private flushRestored(nextOffset: bigint): void {
    this.writeRestored(nextOffset);
    this.count = this.env.entryCount('data');
  }

  private writeRestored(nextOffset: bigint | undefined): void {
    const batch = this.restoreBatch;
    this.restoreBatch = [];
    this.env.writeRestored(() => {
      for (const [key, value] of batch) {
        if (value === null) this.data.removeSync(key);
        else this.data.putSync(key, value);
      }
    }, nextOffset);
  }

  private wipe(): void {
    this.env.wipe();
    this.restoreBatch = [];
    this.overlay.clear();
    this.cache.clear();
    this.count = 0;
  }

  private async commitPrepared(changelogEnd: bigint | undefined): Promise<void> {
    const changes = this.overlay.sealed();
    if (this.closed || changes.size === 0) return;
    // Until the write is durable, reads find the changes in the overlay, and the next checkpoint is
    // not sealed (CheckpointCommitter awaits this before it commits again).
    await this.env.writeCommitted(() => {
      for (const change of changes.values()) {
        if (change.bytes === null || change.bytes === undefined) void this.data.remove(change.dataKey);
        else void this.data.put(change.dataKey, change.bytes);
      }
    }, changelogEnd);
    // Closed meanwhile: nothing more to keep in memory.
    if (!this.overlay.written(changes)) return;
    // Committed values stay at hand: the next records of a trace, a key's next count, read them.
    for (const [id, change] of changes) {
      if (change.value !== null && !this.overlay.isPending(id)) {
        this.cache.remember(id, { key: change.key, value: change.value }, change.bytes?.length ?? 0);
      }
    }
  }

  private exists(id: string, keyBytes: Buffer | null): boolean {
    const change = this.overlay.get(id);
    if (change !== undefined) return change.value !== null;
    if (this.cache.has(id)) return true;
    const key = dataKey(keyBytes);
    if (key.length > MAX_KEY_BYTES + 1) {
      throw new StateStoreKeyTooLargeError(
        `state store ${this.name}: a key of ${key.length - 1} bytes is over LMDB's ${MAX_KEY_BYTES}`,
      );
    }
    return this.data.doesExist(key);
  }
}

/** Serialized keys prefixed by one byte, so the null key (0x00) and an empty key (0x01) both fit LMDB. */
function dataKey(keyBytes: Buffer | null): Buffer {
  return keyBytes === null ? Buffer.from([0]) : Buffer.concat([Buffer.from([1]), keyBytes]);
}
