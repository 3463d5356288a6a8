import { StateStoreKeyTooLargeError } from '../errors';
import type { Serde } from '../serde';
import type { KeyValueStore } from './key-value-store';
import { LMDB_MAX_KEY_BYTES, storeDirectory, type PersistentStoreContext } from './lmdb-environment';
import { LmdbStoreState, type StoreChange } from './lmdb-store-state';
import { keyId, type ChangelogWriter, type PersistentState } from './store';

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
 * That protocol, the overlay of changes and the cache are LmdbStoreState's, shared with the
 * window store.
 *
 * Values are shared objects, as in the in-memory store: a processor that changes a value it got
 * must put it again (a value evicted from the cache is read from disk afresh).
 */
export class LmdbKeyValueStore<K, V> implements KeyValueStore<K, V> {
  readonly kind = 'key-value' as const;
  readonly persistent: PersistentState;
  private readonly state: LmdbStoreState<never, K, V, StoreChange<K, V>>;

  constructor(
    readonly name: string,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    private readonly changelog: ChangelogWriter,
    context: PersistentStoreContext,
  ) {
    this.persistent = this.state = new LmdbStoreState({
      dir: storeDirectory(context, name),
      indexes: [],
      cacheBytes: context.persistence.cacheBytes,
      serializeValue: (value) => valueSerde.serialize(value),
    });
  }

  get(key: K): V | undefined {
    const keyBytes = this.keySerde.serialize(key);
    return this.state.get(keyId(keyBytes), this.dataKey(keyBytes), key, (bytes) =>
      this.valueSerde.deserialize(bytes),
    );
  }

  put(key: K, value: V): void {
    const keyBytes = this.keySerde.serialize(key);
    const change: StoreChange<K, V> = { key, dataKey: this.dataKey(keyBytes), value };
    this.state.change(keyId(keyBytes), change);
    this.changelog.append(keyBytes ?? Buffer.alloc(0), () => this.state.overlay.bytes(change));
  }

  delete(key: K): void {
    const keyBytes = this.keySerde.serialize(key);
    const change = { key, dataKey: this.dataKey(keyBytes), value: null, bytes: null };
    if (this.state.change(keyId(keyBytes), change)) this.changelog.append(keyBytes ?? Buffer.alloc(0), null);
  }

  /** Disk content in key-byte order, with the uncommitted changes over it (those last). */
  *entries(): IterableIterator<[K, V]> {
    const overlay = this.state.overlay.snapshot();
    for (const { key, value } of this.state.env.dbs.data.getRange()) {
      const keyBytes = key[0] === 0 ? null : key.subarray(1);
      const id = keyId(keyBytes);
      if (overlay.has(id)) continue;
      const cached = this.state.cache.peek(id);
      yield [
        cached?.key ?? this.keySerde.deserialize(keyBytes),
        cached?.value ?? this.valueSerde.deserialize(value),
      ];
    }
    for (const { key, value } of overlay.values()) if (value !== null) yield [key, value];
  }

  size(): number {
    return this.state.size();
  }

  restore(key: Buffer, value: Buffer | null): void {
    this.state.restore(dataKey(key.length === 0 ? null : key), value);
  }

  close(): void {
    this.state.close();
  }

  /** The LMDB key of a serialized key; refuses one LMDB cannot hold, before anything is logged. */
  private dataKey(keyBytes: Buffer | null): Buffer {
    if (keyBytes !== null && keyBytes.length > MAX_KEY_BYTES) {
      throw new StateStoreKeyTooLargeError(
        `state store ${this.name}: a key of ${keyBytes.length} bytes is over LMDB's ${MAX_KEY_BYTES}`,
      );
    }
    return dataKey(keyBytes);
  }
}

/** Serialized keys prefixed by one byte, so the null key (0x00) and an empty key (0x01) both fit LMDB. */
function dataKey(keyBytes: Buffer | null): Buffer {
  return keyBytes === null ? Buffer.from([0]) : Buffer.concat([Buffer.from([1]), keyBytes]);
}
