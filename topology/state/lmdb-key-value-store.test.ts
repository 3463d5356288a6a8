import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateStoreKeyTooLargeError } from '../errors';
import { jsonSerde, stringSerde } from '../serde';
import { InMemoryKeyValueStore } from './key-value-store';
import { LmdbKeyValueStore } from './lmdb-key-value-store';
import type { ChangelogWriter } from './store';
import { recordingChangelog } from '../testing/recording-changelog';

interface Count {
  n: number;
}

let stateDir: string;
const opened: LmdbKeyValueStore<unknown, unknown>[] = [];

beforeEach(() => {
  stateDir = mkdtempSync(join(tmpdir(), 'stacklens-lmdb-store-'));
});

afterEach(() => {
  for (const store of opened.splice(0)) store.close();
  rmSync(stateDir, { recursive: true, force: true });
});

function openStore(
  options: { cacheBytes?: number; changelog?: ChangelogWriter; taskId?: string } = {},
): LmdbKeyValueStore<string, Count> {
  const store = new LmdbKeyValueStore<string, Count>(
    'counts',
    stringSerde(),
    jsonSerde<Count>(),
    options.changelog ?? recordingChangelog(),
    {
      applicationId: 'app',
      taskId: options.taskId ?? '0_1',
      partition: 1,
      persistence: { stateDir, instanceId: 'i-1', cacheBytes: options.cacheBytes ?? 1 << 20 },
    },
  );
  opened.push(store as LmdbKeyValueStore<unknown, unknown>);
  return store;
}

/** What a commit does to a persistent store: seal, then the transaction's changelog end. */
async function commit(
  store: LmdbKeyValueStore<string, Count>,
  changelogEnd: bigint | undefined,
): Promise<void> {
  store.persistent.prepareCommit();
  await store.persistent.committed(changelogEnd);
}

/** Closes a store and opens its directory again, as a restarted process does. */
function reopen(store: LmdbKeyValueStore<string, Count>): LmdbKeyValueStore<string, Count> {
  store.close();
  return openStore();
}

describe('LmdbKeyValueStore', () => {
  it('logs the same changelog as the in-memory store, and a replay of it rebuilds the same content', async () => {
    const persistentLog = recordingChangelog();
    const memoryLog = recordingChangelog();
    const persistent = openStore({ changelog: persistentLog });
    const memory = new InMemoryKeyValueStore('counts', stringSerde(), jsonSerde<Count>(), 10, memoryLog);
    for (const store of [persistent, memory]) {
      store.put('a', { n: 1 });
      store.put('b', { n: 2 });
      store.put('a', { n: 3 });
      store.delete('b');
      store.delete('missing'); // nothing to delete: nothing logged
    }
    expect(persistentLog.records).toEqual(memoryLog.records);
    expect(persistent.size()).toBe(1);
    expect([...persistent.entries()]).toEqual([['a', { n: 3 }]]);
    const replayed = openStore({ taskId: '0_2' });
    for (const [key, value] of persistentLog.records) replayed.restore(key, value);
    replayed.persistent.restored(4n);
    expect([...replayed.entries()]).toEqual([['a', { n: 3 }]]);
    expect(replayed.size()).toBe(1);
  });

  it('writes nothing to disk before its commit; once committed, data and changelog offset are there after a restart', async () => {
    let store = openStore();
    store.put('a', { n: 1 });
    store.persistent.prepareCommit();
    // Killed before the Kafka transaction committed: the disk is still empty.
    store = reopen(store);
    expect(store.get('a')).toBeUndefined();
    expect(store.persistent.restoreFrom()).toBe(0n);
    expect(store.size()).toBe(0);

    store.put('a', { n: 1 });
    store.put('b', { n: 2 });
    await commit(store, 42n);
    store = reopen(store);
    expect(store.get('a')).toEqual({ n: 1 });
    expect(store.persistent.restoreFrom()).toBe(42n);
    expect(store.size()).toBe(2);
  });

  it('commits what the checkpoint held when it was sealed: later changes, even to the same object, wait for the next commit', async () => {
    let store = openStore();
    const value = { n: 1 };
    store.put('a', value);
    store.persistent.prepareCommit();
    value.n = 2; // the next checkpoint changes the value in place while this one commits
    store.put('a', value);
    store.put('b', { n: 7 });
    expect(store.get('a')).toEqual({ n: 2 });
    await store.persistent.committed(10n);
    store = reopen(store); // the next checkpoint is abandoned (kill -9)
    expect(store.get('a')).toEqual({ n: 1 });
    expect(store.get('b')).toBeUndefined();
    expect(store.persistent.restoreFrom()).toBe(10n);
  });

  it('serves the committed changes from memory while their LMDB write is in flight', async () => {
    const store = openStore();
    store.put('a', { n: 1 });
    store.persistent.prepareCommit();
    const written = store.persistent.committed(1n);
    store.put('b', { n: 2 });
    expect(store.get('a')).toEqual({ n: 1 });
    expect(new Map(store.entries())).toEqual(
      new Map([
        ['a', { n: 1 }],
        ['b', { n: 2 }],
      ]),
    );
    await written;
    expect(store.get('a')).toEqual({ n: 1 });
    const restarted = reopen(store);
    expect(restarted.get('a')).toEqual({ n: 1 });
    expect(restarted.get('b')).toBeUndefined();
    expect(restarted.persistent.restoreFrom()).toBe(1n);
  });

  it('a commit that produced nothing to the changelog keeps the checkpointed offset', async () => {
    let store = openStore();
    store.put('a', { n: 1 });
    await commit(store, 5n);
    await commit(store, undefined);
    store.delete('a');
    await commit(store, 6n);
    store = reopen(store);
    expect(store.persistent.restoreFrom()).toBe(6n);
    expect(store.get('a')).toBeUndefined();
    expect(store.size()).toBe(0);
  });

  it('overlays uncommitted changes on the disk content when iterating', async () => {
    const store = openStore();
    store.put('a', { n: 1 });
    store.put('b', { n: 2 });
    store.put('c', { n: 3 });
    await commit(store, 3n);
    store.put('b', { n: 20 });
    store.delete('c');
    store.put('d', { n: 4 });
    expect(new Map(store.entries())).toEqual(
      new Map([
        ['a', { n: 1 }],
        ['b', { n: 20 }],
        ['d', { n: 4 }],
      ]),
    );
    expect(store.size()).toBe(3);
  });

  it('keeps only the cache size of values in memory: evicted values are read from disk again', async () => {
    const store = openStore({ cacheBytes: 2_000 });
    for (let i = 0; i < 100; i += 1) store.put(`k${i}`, { n: i });
    await commit(store, 100n);
    const first = store.get('k0');
    expect(first).toEqual({ n: 0 });
    // Recently used values stay cached (the same object comes back)...
    expect(store.get('k0')).toBe(first);
    for (let i = 1; i < 100; i += 1) expect(store.get(`k${i}`)).toEqual({ n: i });
    // ...older ones have been evicted by the bound: read and deserialized afresh.
    expect(store.get('k0')).not.toBe(first);
    expect(store.get('k0')).toEqual({ n: 0 });
  });

  it('restoration writes in batches with the offset reached; a wipe empties data and checkpoint', async () => {
    let store = openStore();
    for (let i = 0; i < 25_000; i += 1)
      store.restore(Buffer.from(`k${i}`), Buffer.from(JSON.stringify({ n: i })));
    store.restore(Buffer.from('k3'), null);
    store.persistent.restored(25_001n);
    store = reopen(store);
    expect(store.size()).toBe(24_999);
    expect(store.get('k24999')).toEqual({ n: 24_999 });
    expect(store.get('k3')).toBeUndefined();
    expect(store.persistent.restoreFrom()).toBe(25_001n);
    store.persistent.wipe();
    expect(store.size()).toBe(0);
    expect(store.persistent.restoreFrom()).toBe(0n);
    expect(reopen(store).get('k1')).toBeUndefined();
  });

  it('refuses a key LMDB cannot hold with a typed error, before anything is logged', async () => {
    const log = recordingChangelog();
    const store = openStore({ changelog: log });
    expect(() => store.put('x'.repeat(2_000), { n: 1 })).toThrow(StateStoreKeyTooLargeError);
    expect(log.records).toHaveLength(0);
    store.put('x'.repeat(1_977), { n: 1 });
    await commit(store, 1n);
    expect(store.get('x'.repeat(1_977))).toEqual({ n: 1 });
  });

  it('forgets uncommitted changes when closed (an abandoned checkpoint)', async () => {
    let store = openStore();
    store.put('a', { n: 1 });
    await commit(store, 1n);
    store.put('a', { n: 2 });
    store.put('b', { n: 3 });
    store = reopen(store);
    expect(new Map(store.entries())).toEqual(new Map([['a', { n: 1 }]]));
    expect(store.size()).toBe(1);
  });
});
