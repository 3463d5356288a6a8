import type { Database } from 'lmdb';
import { StateStoreKeyTooLargeError } from '../errors';
import type { Serde } from '../serde';
import type { Window } from '../windows/window';
import { LMDB_MAX_KEY_BYTES, storeDirectory, type PersistentStoreContext } from './lmdb-environment';
import { LmdbStoreState, type StoreChange } from './lmdb-store-state';
import type { ChangelogWriter, PersistentState } from './store';
import { parseWindowChangelogKey, windowChangelogKey } from './window-changelog-key';
import type { WindowEntry, WindowStore } from './window-store';

interface WindowChange<K, V> extends StoreChange<K, V> {
  readonly window: Window;
}

const TIME_BYTES = 8;
/** Key prefix: a marker byte (0: null key, 1: a key), then for a key its length (2 bytes) and bytes. */
const KEY_PREFIX_OVERHEAD = 3;
/** The end-index key (end + data key) is the longest LMDB key this store writes. */
const MAX_KEY_BYTES = LMDB_MAX_KEY_BYTES - TIME_BYTES - KEY_PREFIX_OVERHEAD - 2 * TIME_BYTES;
/** Timestamps as unsigned big-endian after adding 2^63: byte order = numeric order, negatives included. */
const TIME_BIAS = 1n << 63n;
const MAX_TIME = (1n << 63n) - 1n;
const EMPTY = Buffer.alloc(0);

/**
 * A window store on disk (LMDB), Kafka Streams' RocksDB window and session stores, with the same
 * exactly-once discipline as LmdbKeyValueStore: the disk holds committed changelog content and the
 * offset it reaches, written in one LMDB transaction per commit; the changes of the open and the
 * committing checkpoint stay in memory (LmdbStoreState), serialized once at the seal. Memory is
 * bounded by the cache of deserialized values (`cacheBytes`) plus those changes.
 *
 * Two databases make the queries range scans instead of full scans:
 * - `data`: key prefix (the serialized key, length-prefixed) + start + end -> value, so all windows
 *   of one key are contiguous (`fetch`);
 * - `by-end`: end + data key -> nothing, in end order (`endingAtOrBefore`, the emission and
 *   eviction of closed windows).
 * Both are merged with the overlay, so results are the in-memory store's (windows of equal end
 * come in data-key order rather than insertion order). The changelog is the in-memory window store's.
 */
export class LmdbWindowStore<K, V> implements WindowStore<K, V> {
  readonly kind = 'window' as const;
  readonly persistent: PersistentState;
  private readonly state: LmdbStoreState<'by-end', K, V, WindowChange<K, V>>;
  private readonly data: Database<Buffer, Buffer>;
  private readonly byEnd: Database<Buffer, Buffer>;

  constructor(
    readonly name: string,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    private readonly changelog: ChangelogWriter,
    context: PersistentStoreContext,
  ) {
    this.persistent = this.state = new LmdbStoreState({
      dir: storeDirectory(context, name),
      indexes: ['by-end'],
      cacheBytes: context.persistence.cacheBytes,
      serializeValue: (value) => valueSerde.serialize(value),
      groupOf: (change) => idOf(keyPrefixOf(change.dataKey)),
      writeIndexes: (dataKey, bytes, sync) => {
        const indexKey = endIndexKey(dataKey);
        if (bytes === null) {
          if (sync) this.byEnd.removeSync(indexKey);
          else void this.byEnd.remove(indexKey);
        } else if (sync) this.byEnd.putSync(indexKey, EMPTY);
        else void this.byEnd.put(indexKey, EMPTY);
      },
    });
    this.data = this.state.env.dbs.data;
    this.byEnd = this.state.env.dbs['by-end'];
  }

  get(key: K, window: Window): V | undefined {
    const dataKey = this.dataKey(this.keySerde.serialize(key), window);
    return this.state.get(idOf(dataKey), dataKey, key, (bytes) => this.valueSerde.deserialize(bytes));
  }

  put(key: K, window: Window, value: V): void {
    const keyBytes = this.keySerde.serialize(key);
    const dataKey = this.dataKey(keyBytes, window);
    const change: WindowChange<K, V> = { key, window, dataKey, value };
    this.state.change(idOf(dataKey), change);
    this.changelog.append(windowChangelogKey(keyBytes, window), () => this.state.overlay.bytes(change));
  }

  delete(key: K, window: Window): void {
    const keyBytes = this.keySerde.serialize(key);
    const dataKey = this.dataKey(keyBytes, window);
    const change = { key, window, dataKey, value: null, bytes: null };
    if (this.state.change(idOf(dataKey), change)) {
      this.changelog.append(windowChangelogKey(keyBytes, window), null);
    }
  }

  /** The key's windows on disk (start order), then its uncommitted ones. */
  fetch(key: K): WindowEntry<K, V>[] {
    const prefix = keyPrefix(this.keySerde.serialize(key));
    const overlay = this.state.overlay.inGroup(idOf(prefix));
    const entries: WindowEntry<K, V>[] = [];
    const rangeEnd = Buffer.concat([prefix, Buffer.alloc(2 * TIME_BYTES + 1, 0xff)]);
    for (const { key: dataKey, value } of this.data.getRange({ start: prefix, end: rangeEnd })) {
      const id = idOf(dataKey);
      if (overlay.has(id)) continue;
      const cached = this.state.cache.peek(id);
      entries.push({
        key,
        window: windowOf(dataKey),
        value: cached?.value ?? this.valueSerde.deserialize(value),
      });
    }
    for (const change of overlay.values()) {
      if (change.value !== null) entries.push({ key, window: change.window, value: change.value });
    }
    return entries;
  }

  /** Disk windows from the end index, merged with the uncommitted ones, earliest end first. */
  endingAtOrBefore(end: number): WindowEntry<K, V>[] {
    if (Number.isNaN(end)) return [];
    const fromDisk: WindowEntry<K, V>[] = [];
    for (const indexKey of this.byEnd.getKeys(endRange(end))) {
      const dataKey = indexKey.subarray(TIME_BYTES);
      const id = idOf(dataKey);
      if (this.state.overlay.get(id) !== undefined) continue;
      fromDisk.push(this.diskEntry(id, dataKey));
    }
    const fromOverlay: WindowEntry<K, V>[] = [];
    for (const change of this.state.overlay.current()) {
      if (change.value !== null && change.window.end <= end) {
        fromOverlay.push({ key: change.key, window: change.window, value: change.value });
      }
    }
    fromOverlay.sort((a, b) => a.window.end - b.window.end);
    return mergeByEnd(fromDisk, fromOverlay);
  }

  size(): number {
    return this.state.size();
  }

  /** What the cache of deserialized values holds now (bounded by `cacheBytes`). */
  cacheUsage(): { entries: number; bytes: number } {
    return this.state.cache.usage();
  }

  restore(key: Buffer, value: Buffer | null): void {
    const { keyBytes, window } = parseWindowChangelogKey(key);
    this.state.restore(this.dataKey(keyBytes, window), value);
  }

  close(): void {
    this.state.close();
  }

  private diskEntry(id: string, dataKey: Buffer): WindowEntry<K, V> {
    const window = windowOf(dataKey);
    const cached = this.state.cache.peek(id);
    if (cached !== undefined) return { key: cached.key, window, value: cached.value };
    const bytes = this.data.getBinary(dataKey) ?? null;
    return {
      key: this.keySerde.deserialize(keyBytesOf(dataKey)),
      window,
      value: this.valueSerde.deserialize(bytes),
    };
  }

  /** The data key of a window; refuses a key too long for LMDB, before anything is logged. */
  private dataKey(keyBytes: Buffer | null, window: Window): Buffer {
    if (keyBytes !== null && keyBytes.length > MAX_KEY_BYTES) {
      throw new StateStoreKeyTooLargeError(
        `window store ${this.name}: a key of ${keyBytes.length} bytes is over the ${MAX_KEY_BYTES} LMDB allows here`,
      );
    }
    const prefix = keyPrefix(keyBytes);
    const key = Buffer.alloc(prefix.length + 2 * TIME_BYTES);
    prefix.copy(key, 0);
    writeTime(key, prefix.length, window.start);
    writeTime(key, prefix.length + TIME_BYTES, window.end);
    return key;
  }
}

function keyPrefix(keyBytes: Buffer | null): Buffer {
  if (keyBytes === null) return Buffer.from([0]);
  const prefix = Buffer.alloc(KEY_PREFIX_OVERHEAD + keyBytes.length);
  prefix[0] = 1;
  prefix.writeUInt16BE(keyBytes.length, 1);
  keyBytes.copy(prefix, KEY_PREFIX_OVERHEAD);
  return prefix;
}

function keyPrefixOf(dataKey: Buffer): Buffer {
  return dataKey.subarray(0, dataKey.length - 2 * TIME_BYTES);
}

function keyBytesOf(dataKey: Buffer): Buffer | null {
  return dataKey[0] === 0 ? null : keyPrefixOf(dataKey).subarray(KEY_PREFIX_OVERHEAD);
}

function windowOf(dataKey: Buffer): Window {
  const at = dataKey.length - 2 * TIME_BYTES;
  return { start: readTime(dataKey, at), end: readTime(dataKey, at + TIME_BYTES) };
}

function endIndexKey(dataKey: Buffer): Buffer {
  const key = Buffer.alloc(TIME_BYTES + dataKey.length);
  writeTime(key, 0, windowOf(dataKey).end);
  dataKey.copy(key, TIME_BYTES);
  return key;
}

/** The index range of windows ending at or before `end` (exclusive upper bound: end + 1). */
function endRange(end: number): { end?: Buffer } {
  if (end === Number.POSITIVE_INFINITY) return {};
  const above = end === Number.NEGATIVE_INFINITY ? -TIME_BIAS : BigInt(Math.floor(end)) + 1n;
  if (above > MAX_TIME) return {};
  const bound = Buffer.alloc(TIME_BYTES);
  bound.writeBigUInt64BE((above < -TIME_BIAS ? -TIME_BIAS : above) + TIME_BIAS, 0);
  return { end: bound };
}

function writeTime(into: Buffer, at: number, time: number): void {
  into.writeBigUInt64BE(BigInt(time) + TIME_BIAS, at);
}

function readTime(from: Buffer, at: number): number {
  return Number(from.readBigUInt64BE(at) - TIME_BIAS);
}

/** Entry ids in the overlay and the cache: the data key's bytes as a string. */
function idOf(bytes: Buffer): string {
  return bytes.toString('latin1');
}

function mergeByEnd<E extends { window: Window }>(a: readonly E[], b: readonly E[]): E[] {
  const merged: E[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const next = j >= b.length || (i < a.length && a[i]!.window.end <= b[j]!.window.end) ? a[i++] : b[j++];
    merged.push(next as E);
  }
  return merged;
}
