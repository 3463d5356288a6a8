import { StateStoreFullError } from '../errors';
import { jsonSerde, type Serde } from '../serde';
import type { Window } from '../windows/window';
import {
  DEFAULT_STORE_MAX_ENTRIES,
  keyId,
  type ChangelogWriter,
  type StateStore,
  type StoreOptions,
  type StoreSpec,
} from './store';
import { lowerBound } from '../../common/lower-bound';
import { inMemoryOrOnDisk } from './lmdb-environment';
import { LmdbWindowStore } from './lmdb-window-store';
import { parseWindowChangelogKey, windowChangelogKey } from './window-changelog-key';

export interface WindowEntry<K, V> {
  readonly key: K;
  readonly window: Window;
  readonly value: V;
}

/**
 * A store of values per (key, window), local to one task, logged to its changelog. Windows are
 * indexed by key (sessions, joins) and by end time (emission and eviction of expired windows).
 */
export interface WindowStore<K, V> extends StateStore {
  get(key: K, window: Window): V | undefined;
  put(key: K, window: Window, value: V): void;
  delete(key: K, window: Window): void;
  /** All windows of `key`, in no particular order. */
  fetch(key: K): WindowEntry<K, V>[];
  /** Windows whose end is at most `end`, earliest end first. */
  endingAtOrBefore(end: number): WindowEntry<K, V>[];
}

interface Slot<K, V> {
  key: K;
  keyBytes: Buffer | null;
  window: Window;
  value: V;
}

export class InMemoryWindowStore<K, V> implements WindowStore<K, V> {
  readonly kind = 'window' as const;
  private readonly byKey = new Map<string, Map<string, Slot<K, V>>>();
  private readonly byEnd = new Map<number, Set<Slot<K, V>>>();
  /** Distinct window ends, ascending. */
  private readonly ends: number[] = [];
  private count = 0;

  constructor(
    readonly name: string,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    private readonly maxEntries: number,
    private readonly changelog: ChangelogWriter,
  ) {}

  get(key: K, window: Window): V | undefined {
    return this.byKey.get(keyId(this.keySerde.serialize(key)))?.get(windowId(window))?.value;
  }

  put(key: K, window: Window, value: V): void {
    const keyBytes = this.keySerde.serialize(key);
    this.set(keyBytes, key, window, value);
    this.changelog.append(windowChangelogKey(keyBytes, window), () => this.valueSerde.serialize(value));
  }

  delete(key: K, window: Window): void {
    const keyBytes = this.keySerde.serialize(key);
    if (this.remove(keyBytes, window)) this.changelog.append(windowChangelogKey(keyBytes, window), null);
  }

  fetch(key: K): WindowEntry<K, V>[] {
    const slots = this.byKey.get(keyId(this.keySerde.serialize(key)));
    return slots ? [...slots.values()].map(toEntry) : [];
  }

  endingAtOrBefore(end: number): WindowEntry<K, V>[] {
    const result: WindowEntry<K, V>[] = [];
    for (const e of this.ends) {
      if (e > end) break;
      for (const slot of this.byEnd.get(e) ?? []) result.push(toEntry(slot));
    }
    return result;
  }

  size(): number {
    return this.count;
  }

  close(): void {
    // Nothing held outside the process: the changelog is the state's only durable copy.
  }

  restore(key: Buffer, value: Buffer | null): void {
    const { keyBytes, window } = parseWindowChangelogKey(key);
    if (value === null) {
      this.remove(keyBytes, window);
      return;
    }
    this.set(keyBytes, this.keySerde.deserialize(keyBytes), window, this.valueSerde.deserialize(value));
  }

  private set(keyBytes: Buffer | null, key: K, window: Window, value: V): void {
    const kid = keyId(keyBytes);
    const wid = windowId(window);
    let slots = this.byKey.get(kid);
    const existing = slots?.get(wid);
    if (existing) {
      existing.value = value;
      return;
    }
    if (this.count >= this.maxEntries) {
      throw new StateStoreFullError(`window store ${this.name} is full (${this.maxEntries} entries)`);
    }
    if (!slots) {
      slots = new Map();
      this.byKey.set(kid, slots);
    }
    const slot: Slot<K, V> = { key, keyBytes, window, value };
    slots.set(wid, slot);
    let atEnd = this.byEnd.get(window.end);
    if (!atEnd) {
      atEnd = new Set();
      this.byEnd.set(window.end, atEnd);
      this.ends.splice(lowerBound(this.ends, window.end), 0, window.end);
    }
    atEnd.add(slot);
    this.count += 1;
  }

  private remove(keyBytes: Buffer | null, window: Window): boolean {
    const kid = keyId(keyBytes);
    const slots = this.byKey.get(kid);
    const wid = windowId(window);
    const slot = slots?.get(wid);
    if (!slots || !slot) return false;
    slots.delete(wid);
    if (slots.size === 0) this.byKey.delete(kid);
    const atEnd = this.byEnd.get(window.end);
    atEnd?.delete(slot);
    if (atEnd && atEnd.size === 0) {
      this.byEnd.delete(window.end);
      this.ends.splice(lowerBound(this.ends, window.end), 1);
    }
    this.count -= 1;
    return true;
  }
}

function windowId(window: Window): string {
  return `${window.start}:${window.end}`;
}

function toEntry<K, V>(slot: Slot<K, V>): WindowEntry<K, V> {
  return { key: slot.key, window: slot.window, value: slot.value };
}

/**
 * A window store per task: on disk (LMDB, see lmdb-window-store.ts) when the runtime has a state
 * directory (StreamsAppOptions.stateDir), in memory otherwise, as keyValueStoreSpec.
 */
export function windowStoreSpec<K, V>(name: string, options: StoreOptions<K, V> = {}): StoreSpec {
  const keySerde = options.keySerde ?? jsonSerde<K>();
  const valueSerde = options.valueSerde ?? jsonSerde<V>();
  const maxEntries = options.maxEntries ?? DEFAULT_STORE_MAX_ENTRIES;
  return {
    name,
    kind: 'window',
    maxEntries,
    create: (changelog, context) =>
      inMemoryOrOnDisk<WindowStore<K, V>>(
        context,
        () => new InMemoryWindowStore(name, keySerde, valueSerde, maxEntries, changelog),
        (onDisk) => new LmdbWindowStore(name, keySerde, valueSerde, changelog, onDisk),
      ),
  };
}
