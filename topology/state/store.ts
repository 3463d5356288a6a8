import type { Serde } from '../serde';

/**
 * Receives every change of a store, in order; the runtime turns them into changelog records.
 * `value` serializes the new value (null for a deletion). It is called late, when the change is
 * made durable, and at most once per key and commit: a store value updated many times between two
 * commits (a correlator's trace, an alert state) is serialized once, as Kafka Streams' record cache
 * does. The store keeps the same value object, so what is serialized is what the store holds.
 */
export interface ChangelogWriter {
  append(key: Buffer, value: (() => Buffer | null) | null): void;
}

export type StoreKind = 'key-value' | 'window';

/** What every store offers the runtime: restoration from its changelog and its size for metrics. */
export interface StateStore {
  readonly name: string;
  readonly kind: StoreKind;
  /** Number of entries held in memory. */
  size(): number;
  /** Applies one changelog record without logging it again (`null` value = deletion). */
  restore(key: Buffer, value: Buffer | null): void;
}

/** How to build one instance of a store per task. */
export interface StoreSpec {
  readonly name: string;
  readonly kind: StoreKind;
  /** Upper bound on entries held in memory; a put beyond it throws StateStoreFullError. */
  readonly maxEntries: number;
  create(changelog: ChangelogWriter): StateStore;
}

export interface StoreOptions<K, V> {
  keySerde?: Serde<K>;
  valueSerde?: Serde<V>;
  /** Default 100 000 entries. Memory per store is about maxEntries x (serialized key + value + ~150 B). */
  maxEntries?: number;
}

export const DEFAULT_STORE_MAX_ENTRIES = 100_000;

/** Compacted topic holding every change of a store: `${applicationId}-${store}-changelog`. */
export function changelogTopicName(applicationId: string, storeName: string): string {
  return `${applicationId}-${storeName}-changelog`;
}

/** Stable string form of a serialized key, used to index in-memory maps. */
export function keyId(bytes: Buffer | null): string {
  return bytes === null ? '' : `k${bytes.toString('base64')}`;
}
