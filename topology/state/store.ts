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
  /** Number of entries (in memory, or on disk for a persistent store). */
  size(): number;
  /** Applies one changelog record without logging it again (`null` value = deletion). */
  restore(key: Buffer, value: Buffer | null): void;
  /** Present when the store keeps its state on disk between runs (see PersistentState). */
  readonly persistent?: PersistentState;
  /** The task is closed (revoked, dropped, stopped): release files; what was not committed is forgotten. */
  close(): void;
}

/**
 * How the runtime keeps a persistent store's disk content equal to a prefix of its committed
 * changelog (Kafka Streams' `.checkpoint` file, kept here in the same LMDB transaction as the data):
 * changes reach the disk only after the Kafka transaction that carried them committed, together
 * with the changelog offset they reach, so a kill -9 at any moment leaves a state that restoration
 * can continue from that offset.
 */
export interface PersistentState {
  /** Changelog offset restoration starts from: the disk holds every change before it (0: empty). */
  restoreFrom(): bigint;
  /**
   * Makes the restored records durable: the disk then holds the changelog up to `nextOffset`
   * (exclusive). Restoration reads committed records only, so this is safe at any point of it.
   */
  restored(nextOffset: bigint): void;
  /** Empties the store (its checkpoint does not match the changelog: restore from the beginning). */
  wipe(): void;
  /**
   * A checkpoint is sealed: the changes made so far, serialized now, are the ones its commit makes
   * durable; later changes belong to the next one.
   */
  prepareCommit(): void;
  /**
   * The prepared changes were committed to Kafka; the store's changelog partition holds them before
   * `changelogEnd` (undefined when the commit produced nothing to it: the offset stays). Resolves
   * once they are durable on disk; the runtime seals no other checkpoint before.
   */
  committed(changelogEnd: bigint | undefined): Promise<void>;
}

/** Where a persistent store keeps its files and how much it caches (StreamsAppOptions.stateDir). */
export interface StorePersistence {
  /** Root directory; a store lives in `<stateDir>/<application>/<instance>/<task>/<store>`. */
  readonly stateDir: string;
  readonly instanceId: string;
  /** Bytes of values (serialized size) a store instance keeps deserialized in memory. */
  readonly cacheBytes: number;
}

/** The task a store instance belongs to, and where to persist it (undefined: in memory). */
export interface StoreContext {
  readonly applicationId: string;
  readonly taskId: string;
  readonly partition: number;
  readonly persistence?: StorePersistence;
}

/** How to build one instance of a store per task. */
export interface StoreSpec {
  readonly name: string;
  readonly kind: StoreKind;
  /**
   * Upper bound on entries of an in-memory store; a put beyond it throws StateStoreFullError.
   * Persistent stores hold any number on disk (their memory is bounded by the cache).
   */
  readonly maxEntries: number;
  create(changelog: ChangelogWriter, context: StoreContext): StateStore;
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
