import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { StateStoreKeyTooLargeError } from '../errors';
import type { Serde } from '../serde';
import type { KeyValueStore } from './key-value-store';
import { keyId, type ChangelogWriter, type PersistentState, type StoreContext } from './store';

/** A change not yet on disk: the value object (null: deleted) and, once sealed, its bytes. */
interface Change<K, V> {
  readonly key: K;
  readonly dataKey: Buffer;
  readonly value: V | null;
  bytes?: Buffer | null;
}

interface Cached<K, V> {
  readonly key: K;
  readonly value: V;
  readonly bytes: number;
}

/** LMDB's largest key (lmdb-js builds it with 1978 bytes); one byte goes to the null-key marker. */
const MAX_KEY_BYTES = 1_977;
/** Accounted per cached entry on top of its serialized value: map slot, key, object headers. */
const CACHE_ENTRY_OVERHEAD_BYTES = 200;
const OFFSET_KEY = 'changelog-offset';
/** Restored records written per LMDB transaction when the restorer does not say sooner. */
const RESTORE_BATCH = 10_000;

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
  private readonly dir: string;
  private readonly cacheBytes: number;
  private readonly env: RootDatabase<Buffer, string>;
  private readonly data: Database<Buffer, Buffer>;
  private pending = new Map<string, Change<K, V>>();
  private committing = new Map<string, Change<K, V>>();
  private readonly cache = new Map<string, Cached<K, V>>();
  private cachedBytes = 0;
  private count: number;
  private restoreBatch: [Buffer, Buffer | null][] = [];
  private closed = false;

  constructor(
    readonly name: string,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    private readonly changelog: ChangelogWriter,
    context: StoreContext & { persistence: NonNullable<StoreContext['persistence']> },
  ) {
    const { stateDir, instanceId, cacheBytes } = context.persistence;
    this.dir = join(stateDir, safe(context.applicationId), safe(instanceId), context.taskId, safe(name));
    this.cacheBytes = cacheBytes;
    ({ env: this.env, data: this.data } = openStore(this.dir));
    this.count = this.diskCount();
    this.persistent = {
      restoreFrom: () => this.offset(),
      restored: (nextOffset) => this.flushRestored(nextOffset),
      wipe: () => this.wipe(),
      prepareCommit: () => this.prepareCommit(),
      committed: (changelogEnd) => this.commitPrepared(changelogEnd),
    };
  }

  get(key: K): V | undefined {
    const keyBytes = this.keySerde.serialize(key);
    const id = keyId(keyBytes);
    const change = this.pending.get(id) ?? this.committing.get(id);
    if (change !== undefined) return change.value ?? undefined;
    const cached = this.cache.get(id);
    if (cached !== undefined) {
      // Most recently used last: eviction takes from the front.
      this.cache.delete(id);
      this.cache.set(id, cached);
      return cached.value;
    }
    const bytes = this.data.getBinary(dataKey(keyBytes));
    if (bytes === undefined) return undefined;
    const value = this.valueSerde.deserialize(bytes);
    this.remember(id, key, value, bytes.length);
    return value;
  }

  put(key: K, value: V): void {
    const keyBytes = this.keySerde.serialize(key);
    const id = keyId(keyBytes);
    const existed = this.exists(id, keyBytes);
    const change: Change<K, V> = { key, dataKey: dataKey(keyBytes), value };
    this.pending.set(id, change);
    if (!existed) this.count += 1;
    this.changelog.append(keyBytes ?? Buffer.alloc(0), () => this.serialize(change));
  }

  delete(key: K): void {
    const keyBytes = this.keySerde.serialize(key);
    const id = keyId(keyBytes);
    if (!this.exists(id, keyBytes)) return;
    this.pending.set(id, { key, dataKey: dataKey(keyBytes), value: null, bytes: null });
    this.forget(id);
    this.count -= 1;
    this.changelog.append(keyBytes ?? Buffer.alloc(0), null);
  }

  /** Disk content in key-byte order, with the uncommitted changes over it (those last). */
  *entries(): IterableIterator<[K, V]> {
    const overlay = new Map([...this.committing, ...this.pending]);
    for (const { key, value } of this.data.getRange()) {
      const keyBytes = key[0] === 0 ? null : key.subarray(1);
      const id = keyId(keyBytes);
      if (overlay.has(id)) continue;
      const cached = this.cache.get(id);
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
    this.pending = new Map();
    this.committing = new Map();
    this.cache.clear();
    void this.env.close();
  }

  private flushRestored(nextOffset: bigint): void {
    this.writeRestored(nextOffset);
    this.count = this.diskCount();
  }

  private writeRestored(nextOffset: bigint | undefined): void {
    const batch = this.restoreBatch;
    this.restoreBatch = [];
    this.env.transactionSync(() => {
      for (const [key, value] of batch) {
        if (value === null) this.data.removeSync(key);
        else this.data.putSync(key, value);
      }
      if (nextOffset !== undefined) this.env.putSync(OFFSET_KEY, encodeOffset(nextOffset));
    });
  }

  private wipe(): void {
    this.env.transactionSync(() => {
      this.data.clearSync();
      this.env.removeSync(OFFSET_KEY);
    });
    this.restoreBatch = [];
    this.pending = new Map();
    this.committing = new Map();
    this.cache.clear();
    this.cachedBytes = 0;
    this.count = 0;
  }

  private prepareCommit(): void {
    if (this.closed) return;
    // The previous commit either completed (committing emptied) or failed, which closes the store.
    for (const [id, change] of this.pending) {
      this.serialize(change);
      this.committing.set(id, change);
    }
    this.pending = new Map();
  }

  private async commitPrepared(changelogEnd: bigint | undefined): Promise<void> {
    if (this.closed || this.committing.size === 0) return;
    const changes = this.committing;
    // An asynchronous LMDB transaction: the puts run when it starts, its fsync off the main thread.
    // Until it is durable, reads find the changes in `committing`, and the next checkpoint is not
    // sealed (CheckpointCommitter awaits this before it commits again).
    await this.env.transaction(() => {
      for (const change of changes.values()) {
        if (change.bytes === null || change.bytes === undefined) void this.data.remove(change.dataKey);
        else void this.data.put(change.dataKey, change.bytes);
      }
      if (changelogEnd !== undefined) void this.env.put(OFFSET_KEY, encodeOffset(changelogEnd));
    });
    // Closed meanwhile: nothing more to keep in memory.
    if (this.committing !== changes) return;
    this.committing = new Map();
    // Committed values stay at hand: the next records of a trace, a key's next count, read them.
    for (const [id, change] of changes) {
      if (change.value !== null && !this.pending.has(id)) {
        this.remember(id, change.key, change.value, change.bytes?.length ?? 0);
      }
    }
  }

  /** The changelog record's value and the bytes written at commit: serialized once, at the seal. */
  private serialize(change: Change<K, V>): Buffer | null {
    if (change.bytes === undefined) {
      change.bytes = change.value === null ? null : this.valueSerde.serialize(change.value);
    }
    return change.bytes;
  }

  private exists(id: string, keyBytes: Buffer | null): boolean {
    const change = this.pending.get(id) ?? this.committing.get(id);
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

  private remember(id: string, key: K, value: V, serializedBytes: number): void {
    this.forget(id);
    const bytes = serializedBytes + CACHE_ENTRY_OVERHEAD_BYTES;
    this.cache.set(id, { key, value, bytes });
    this.cachedBytes += bytes;
    for (const [oldest, entry] of this.cache) {
      if (this.cachedBytes <= this.cacheBytes) break;
      this.cache.delete(oldest);
      this.cachedBytes -= entry.bytes;
    }
  }

  private forget(id: string): void {
    const cached = this.cache.get(id);
    if (cached === undefined) return;
    this.cache.delete(id);
    this.cachedBytes -= cached.bytes;
  }

  private offset(): bigint {
    const stored = this.env.getBinary(OFFSET_KEY);
    return stored === undefined ? 0n : stored.readBigInt64BE(0);
  }

  private diskCount(): number {
    return (this.data.getStats() as { entryCount: number }).entryCount;
  }
}

function openStore(dir: string): { env: RootDatabase<Buffer, string>; data: Database<Buffer, Buffer> } {
  mkdirSync(dir, { recursive: true });
  // Synchronous commits (one fsync per commit) keep the offset and the data together on disk even
  // across a machine crash; values are the serde's bytes, uncompressed and uncached by lmdb-js
  // (this store caches deserialized values itself).
  const env = open<Buffer, string>({
    path: dir,
    maxDbs: 2,
    encoding: 'binary',
    cache: false,
    compression: false,
  });
  const data = env.openDB<Buffer, Buffer>('data', {
    keyEncoding: 'binary',
    encoding: 'binary',
    cache: false,
  });
  return { env, data };
}

/** Serialized keys prefixed by one byte, so the null key (0x00) and an empty key (0x01) both fit LMDB. */
function dataKey(keyBytes: Buffer | null): Buffer {
  return keyBytes === null ? Buffer.from([0]) : Buffer.concat([Buffer.from([1]), keyBytes]);
}

function encodeOffset(offset: bigint): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigInt64BE(offset, 0);
  return bytes;
}

/** A name as one path segment. */
function safe(name: string): string {
  return encodeURIComponent(name).replace(/^\.+/, (dots) => '%2E'.repeat(dots.length));
}
