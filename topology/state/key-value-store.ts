import { StateStoreFullError } from '../errors';
import { jsonSerde, type Serde } from '../serde';
import {
  DEFAULT_STORE_MAX_ENTRIES,
  keyId,
  type ChangelogWriter,
  type StateStore,
  type StoreOptions,
  type StoreSpec,
} from './store';
import { inMemoryOrOnDisk } from './lmdb-environment';
import { LmdbKeyValueStore } from './lmdb-key-value-store';

/** A key-value store local to one task. Every put and delete is written to the store's changelog. */
export interface KeyValueStore<K, V> extends StateStore {
  get(key: K): V | undefined;
  put(key: K, value: V): void;
  delete(key: K): void;
  entries(): IterableIterator<[K, V]>;
}

interface Entry<K, V> {
  key: K;
  value: V;
}

export class InMemoryKeyValueStore<K, V> implements KeyValueStore<K, V> {
  readonly kind = 'key-value' as const;
  private readonly map = new Map<string, Entry<K, V>>();

  constructor(
    readonly name: string,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    private readonly maxEntries: number,
    private readonly changelog: ChangelogWriter,
  ) {}

  get(key: K): V | undefined {
    return this.map.get(keyId(this.keySerde.serialize(key)))?.value;
  }

  put(key: K, value: V): void {
    const keyBytes = this.keySerde.serialize(key);
    const id = keyId(keyBytes);
    if (!this.map.has(id) && this.map.size >= this.maxEntries) {
      throw new StateStoreFullError(`state store ${this.name} is full (${this.maxEntries} entries)`);
    }
    this.map.set(id, { key, value });
    this.changelog.append(keyBytes ?? Buffer.alloc(0), () => this.valueSerde.serialize(value));
  }

  delete(key: K): void {
    const keyBytes = this.keySerde.serialize(key);
    if (this.map.delete(keyId(keyBytes))) this.changelog.append(keyBytes ?? Buffer.alloc(0), null);
  }

  *entries(): IterableIterator<[K, V]> {
    for (const { key, value } of this.map.values()) yield [key, value];
  }

  size(): number {
    return this.map.size;
  }

  close(): void {
    // Nothing held outside the process: the changelog is the state's only durable copy.
  }

  restore(key: Buffer, value: Buffer | null): void {
    const keyBytes = key.length === 0 ? null : key;
    const id = keyId(keyBytes);
    if (value === null) {
      this.map.delete(id);
      return;
    }
    this.map.set(id, { key: this.keySerde.deserialize(keyBytes), value: this.valueSerde.deserialize(value) });
  }
}

/**
 * A key-value store per task: on disk (LMDB, see lmdb-key-value-store.ts) when the runtime has a
 * state directory (StreamsAppOptions.stateDir), in memory otherwise (tests, small state).
 */
export function keyValueStoreSpec<K, V>(name: string, options: StoreOptions<K, V> = {}): StoreSpec {
  const keySerde = options.keySerde ?? jsonSerde<K>();
  const valueSerde = options.valueSerde ?? jsonSerde<V>();
  const maxEntries = options.maxEntries ?? DEFAULT_STORE_MAX_ENTRIES;
  return {
    name,
    kind: 'key-value',
    maxEntries,
    create: (changelog, context) =>
      inMemoryOrOnDisk<KeyValueStore<K, V>>(
        context,
        () => new InMemoryKeyValueStore(name, keySerde, valueSerde, maxEntries, changelog),
        (onDisk) => new LmdbKeyValueStore(name, keySerde, valueSerde, changelog, onDisk),
      ),
  };
}
