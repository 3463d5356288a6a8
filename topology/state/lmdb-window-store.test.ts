import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateStoreKeyTooLargeError } from '../errors';
import { jsonSerde } from '../serde';
import type { Window } from '../windows/window';
import { LmdbWindowStore } from './lmdb-window-store';
import type { ChangelogWriter, StoreContext } from './store';
import { InMemoryWindowStore, windowStoreSpec, type WindowEntry, type WindowStore } from './window-store';
import { recordingChangelog } from '../testing/recording-changelog';

interface Count {
  n: number;
}
type Key = string | null;
type Store = WindowStore<Key, Count>;

let stateDir: string;
const opened: LmdbWindowStore<Key, Count>[] = [];

beforeEach(() => {
  stateDir = mkdtempSync(join(tmpdir(), 'stacklens-lmdb-window-store-'));
});

afterEach(() => {
  for (const store of opened.splice(0)) store.close();
  rmSync(stateDir, { recursive: true, force: true });
});

function context(
  cacheBytes = 1 << 20,
  taskId = '0_1',
): StoreContext & { persistence: NonNullable<StoreContext['persistence']> } {
  return {
    applicationId: 'app',
    taskId,
    partition: 1,
    persistence: { stateDir, instanceId: 'i-1', cacheBytes },
  };
}

function openStore(
  options: { cacheBytes?: number; changelog?: ChangelogWriter; taskId?: string } = {},
): LmdbWindowStore<Key, Count> {
  const store = new LmdbWindowStore<Key, Count>(
    'windows',
    jsonSerde<Key>(),
    jsonSerde<Count>(),
    options.changelog ?? recordingChangelog(),
    context(options.cacheBytes, options.taskId),
  );
  opened.push(store);
  return store;
}

function memoryStore(changelog: ChangelogWriter = recordingChangelog()): InMemoryWindowStore<Key, Count> {
  return new InMemoryWindowStore<Key, Count>(
    'windows',
    jsonSerde<Key>(),
    jsonSerde<Count>(),
    1_000_000,
    changelog,
  );
}

function reopen(store: LmdbWindowStore<Key, Count>): LmdbWindowStore<Key, Count> {
  store.close();
  return openStore();
}

async function commit(store: LmdbWindowStore<Key, Count>, changelogEnd: bigint | undefined): Promise<void> {
  store.persistent.prepareCommit();
  await store.persistent.committed(changelogEnd);
}

/** Entries in one canonical order (the stores agree on end order, not on order within an end). */
function canonical(entries: readonly WindowEntry<Key, Count>[]): [number, number, Key, number][] {
  return entries
    .map((e): [number, number, Key, number] => [e.window.end, e.window.start, e.key, e.value.n])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1] || JSON.stringify(a[2]).localeCompare(JSON.stringify(b[2])));
}

function ends(entries: readonly WindowEntry<Key, Count>[]): number[] {
  return entries.map((e) => e.window.end);
}

/** Deterministic pseudo-random numbers (mulberry32): a failure names its seed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const KEYS: Key[] = ['a', 'b', 'ab', '', null, 'a'.repeat(300)];

function expectSameContent(lmdb: Store, memory: Store, context: string): void {
  const all = lmdb.endingAtOrBefore(Number.POSITIVE_INFINITY);
  expect({ context, ends: ends(all) }).toEqual({ context, ends: [...ends(all)].sort((a, b) => a - b) });
  expect({ context, all: canonical(all) }).toEqual({
    context,
    all: canonical(memory.endingAtOrBefore(Number.POSITIVE_INFINITY)),
  });
  for (const key of KEYS) {
    expect({ context, key, windows: canonical(lmdb.fetch(key)) }).toEqual({
      context,
      key,
      windows: canonical(memory.fetch(key)),
    });
  }
  expect({ context, size: lmdb.size() }).toEqual({ context, size: memory.size() });
}

describe('LmdbWindowStore', () => {
  it('answers every operation as the in-memory store does, across random commits (property test)', async () => {
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const next = random(seed);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
      const int = (from: number, to: number): number => from + Math.floor(next() * (to - from + 1));
      const lmdbLog = recordingChangelog();
      const memoryLog = recordingChangelog();
      const lmdb = openStore({
        changelog: lmdbLog,
        taskId: `0_${seed}`,
        cacheBytes: pick([0, 1_000, 1 << 20]),
      });
      const memory = memoryStore(memoryLog);
      let inFlight: Promise<void> | undefined;
      let offset = 0n;
      for (let step = 0; step < 600; step += 1) {
        const context = `seed ${seed}, step ${step}`;
        const key = pick(KEYS);
        const start = int(-6, 6);
        const window: Window = { start, end: start + int(0, 3) };
        const roll = next();
        if (roll < 0.35) {
          const value = { n: int(0, 1_000) };
          lmdb.put(key, window, value);
          memory.put(key, window, { ...value });
        } else if (roll < 0.5) {
          lmdb.delete(key, window);
          memory.delete(key, window);
        } else if (roll < 0.65) {
          expect({ context, got: lmdb.get(key, window) }).toEqual({ context, got: memory.get(key, window) });
        } else if (roll < 0.75) {
          expect({ context, fetched: canonical(lmdb.fetch(key)) }).toEqual({
            context,
            fetched: canonical(memory.fetch(key)),
          });
        } else if (roll < 0.88) {
          const bound = pick([int(-10, 10), Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
          const found = lmdb.endingAtOrBefore(bound);
          expect({ context, ends: ends(found) }).toEqual({
            context,
            ends: [...ends(found)].sort((a, b) => a - b),
          });
          expect({ context, bound, found: canonical(found) }).toEqual({
            context,
            bound,
            found: canonical(memory.endingAtOrBefore(bound)),
          });
        } else if (roll < 0.94) {
          // A checkpoint is sealed; its LMDB write runs while the tasks go on, awaited before the next seal.
          await inFlight;
          lmdb.persistent.prepareCommit();
          offset += BigInt(int(0, 5));
          inFlight = lmdb.persistent.committed(next() < 0.2 ? undefined : offset);
        } else {
          await inFlight;
          inFlight = undefined;
        }
        expect({ context, size: lmdb.size() }).toEqual({ context, size: memory.size() });
      }
      await inFlight;
      expectSameContent(lmdb, memory, `seed ${seed}, end`);
      expect(lmdbLog.records).toEqual(memoryLog.records);
      // Everything committed: a restart finds the same content on disk.
      lmdb.put('last', { start: 0, end: 1 }, { n: 0 });
      memory.put('last', { start: 0, end: 1 }, { n: 0 });
      await commit(lmdb, offset + 1n);
      lmdb.close();
      const restarted = openStore({ taskId: `0_${seed}` });
      expectSameContent(restarted, memory, `seed ${seed}, restarted`);
      expect(restarted.persistent.restoreFrom()).toBe(offset + 1n);
    }
  });

  it('restores the changelog of an in-memory window store, and the in-memory store restores its changelog', async () => {
    const memoryLog = recordingChangelog();
    const memory = memoryStore(memoryLog);
    const next = random(42);
    for (let i = 0; i < 3_000; i += 1) {
      const key = KEYS[i % KEYS.length] as Key;
      const start = Math.floor(next() * 400) - 200;
      const window = { start, end: start + 10 };
      if (next() < 0.2) memory.delete(key, window);
      else memory.put(key, window, { n: i });
    }
    const lmdb = openStore();
    for (const [key, value] of memoryLog.records) lmdb.restore(key, value);
    lmdb.persistent.restored(BigInt(memoryLog.records.length));
    expectSameContent(lmdb, memory, 'restored');
    const restarted = reopen(lmdb);
    expectSameContent(restarted, memory, 'restored, restarted');
    expect(restarted.persistent.restoreFrom()).toBe(BigInt(memoryLog.records.length));

    const lmdbLog = recordingChangelog();
    const written = openStore({ changelog: lmdbLog, taskId: '0_2' });
    written.put('k', { start: -5, end: 5 }, { n: 1 });
    written.put(null, { start: 0, end: 0 }, { n: 2 });
    written.delete('k', { start: -5, end: 5 });
    written.put('k', { start: 3, end: 4 }, { n: 3 });
    const replayed = memoryStore();
    for (const [key, value] of lmdbLog.records) replayed.restore(key, value);
    expectSameContent(written, replayed, 'in-memory store restored from the LMDB store');
  });

  it('after a restart holds the committed windows and offset; uncommitted changes are gone', async () => {
    let store = openStore();
    store.put('a', { start: 0, end: 10 }, { n: 1 });
    store.put('a', { start: 10, end: 20 }, { n: 2 });
    store.put('b', { start: -20, end: -10 }, { n: 3 });
    store.persistent.prepareCommit();
    // Killed before the Kafka transaction committed: the disk is still empty.
    store = reopen(store);
    expect(store.size()).toBe(0);
    expect(store.persistent.restoreFrom()).toBe(0n);

    store.put('a', { start: 0, end: 10 }, { n: 1 });
    store.put('a', { start: 10, end: 20 }, { n: 2 });
    store.put('b', { start: -20, end: -10 }, { n: 3 });
    await commit(store, 7n);
    // The next checkpoint: one sealed and never committed, one open.
    store.delete('a', { start: 0, end: 10 });
    store.put('b', { start: -20, end: -10 }, { n: 30 });
    store.persistent.prepareCommit();
    store.put('c', { start: 5, end: 6 }, { n: 4 });
    expect(store.size()).toBe(3);
    store = reopen(store);
    expect(store.persistent.restoreFrom()).toBe(7n);
    expect(store.size()).toBe(3);
    expect(store.get('a', { start: 0, end: 10 })).toEqual({ n: 1 });
    expect(store.get('c', { start: 5, end: 6 })).toBeUndefined();
    expect(canonical(store.endingAtOrBefore(15))).toEqual([
      [-10, -20, 'b', 3],
      [10, 0, 'a', 1],
    ]);
  });

  it('writes nothing when closed while its commit waits for the LMDB write (a rebalance)', async () => {
    let store = openStore();
    store.put('a', { start: 0, end: 10 }, { n: 1 });
    store.persistent.prepareCommit();
    const written = store.persistent.committed(3n);
    store.close();
    await written;
    store = openStore();
    expect(store.size()).toBe(0);
    expect(store.persistent.restoreFrom()).toBe(0n);
  });

  it('restores in batches with the offset reached; a wipe empties windows, index and checkpoint', () => {
    let store = openStore();
    const memory = memoryStore();
    for (let i = 0; i < 25_000; i += 1) memory.put(`k${i % 100}`, { start: i, end: i + 5 }, { n: i });
    const log = recordingChangelog();
    const source = memoryStore(log);
    for (let i = 0; i < 25_000; i += 1) source.put(`k${i % 100}`, { start: i, end: i + 5 }, { n: i });
    for (const [key, value] of log.records) store.restore(key, value);
    store.persistent.restored(25_000n);
    store = reopen(store);
    expect(store.size()).toBe(25_000);
    expect(store.fetch('k7')).toHaveLength(250);
    expect(canonical(store.endingAtOrBefore(12))).toEqual(canonical(memory.endingAtOrBefore(12)));
    store.persistent.wipe();
    expect(store.size()).toBe(0);
    expect(store.persistent.restoreFrom()).toBe(0n);
    expect(store.endingAtOrBefore(Number.POSITIVE_INFINITY)).toEqual([]);
    expect(reopen(store).fetch('k7')).toEqual([]);
  });

  it('keeps its cache within the byte bound however many large windows it reads', async () => {
    const cacheBytes = 50_000;
    const store = openStore({ cacheBytes });
    const big = (n: number): Count & { pad: string } => ({ n, pad: 'x'.repeat(4_000) });
    for (let i = 0; i < 300; i += 1) store.put(`k${i % 7}`, { start: i, end: i + 1 }, big(i));
    await commit(store, 300n);
    expect(store.cacheUsage().bytes).toBeLessThanOrEqual(cacheBytes);
    for (let i = 0; i < 300; i += 1) {
      expect(store.get(`k${i % 7}`, { start: i, end: i + 1 })?.n).toBe(i);
      const usage = store.cacheUsage();
      expect(usage.bytes).toBeLessThanOrEqual(cacheBytes);
      // At least 4,000 bytes each: at most a dozen of the 300 values are held.
      expect(usage.entries).toBeLessThanOrEqual(Math.floor(cacheBytes / 4_000));
    }
    expect(store.cacheUsage().entries).toBeGreaterThan(0);
    expect(store.endingAtOrBefore(Number.POSITIVE_INFINITY).map((e) => e.value.n)).toEqual([
      ...Array(300).keys(),
    ]);
    expect(store.fetch('k3').map((e) => e.value.n)).toEqual(
      [...Array(300).keys()].filter((i) => i % 7 === 3),
    );
  });

  it('refuses a key LMDB cannot hold with a typed error, before anything is logged', async () => {
    const log = recordingChangelog();
    const store = openStore({ changelog: log });
    // 1,951 serialized bytes is the longest key (a JSON string adds its two quotes).
    expect(() => store.put('x'.repeat(1_950), { start: 0, end: 1 }, { n: 1 })).toThrow(
      StateStoreKeyTooLargeError,
    );
    expect(log.records).toHaveLength(0);
    store.put('x'.repeat(1_949), { start: 0, end: 1 }, { n: 1 });
    await commit(store, 1n);
    expect(store.fetch('x'.repeat(1_949))).toHaveLength(1);
  });

  it('windowStoreSpec builds an LMDB store when the runtime has a state directory, an in-memory one otherwise', () => {
    const spec = windowStoreSpec<Key, Count>('windows');
    const persistent = spec.create(recordingChangelog(), context());
    opened.push(persistent as LmdbWindowStore<Key, Count>);
    expect(persistent).toBeInstanceOf(LmdbWindowStore);
    const { persistence: _, ...inMemory } = context();
    expect(spec.create(recordingChangelog(), inMemory)).toBeInstanceOf(InMemoryWindowStore);
  });
});
