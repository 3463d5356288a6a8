import { ChangelogCache } from './changelog-cache';
import { InMemoryKeyValueStore } from './key-value-store';
import { InMemoryWindowStore } from './window-store';
import { jsonSerde } from '../serde';

interface Change {
  topic: string;
  partition?: number;
  key: Buffer | null;
  value: Buffer | null;
}

function change(key: string, value: string | null, topic = 'app-s-changelog', partition = 0): Change {
  return { topic, partition, key: Buffer.from(key), value: value === null ? null : Buffer.from(value) };
}

function text(changes: readonly Change[]): [string, string | null][] {
  return changes.map((c) => [c.key?.toString() ?? '', c.value?.toString() ?? null]);
}

describe('ChangelogCache', () => {
  it('keeps the last value per key, in order of last write', () => {
    const cache = new ChangelogCache<Change>();
    cache.put(change('a', '1'));
    cache.put(change('b', '1'));
    cache.put(change('c', '1'));
    expect(text([cache.put(change('a', '2'))!])).toEqual([['a', '1']]);
    cache.put(change('b', '2'));
    expect(text(cache.changes())).toEqual([
      ['c', '1'],
      ['a', '2'],
      ['b', '2'],
    ]);
    expect(cache.size).toBe(3);
  });

  it('keeps a deletion as a tombstone, and a put after a deletion as the value', () => {
    const cache = new ChangelogCache<Change>();
    cache.put(change('a', '1'));
    cache.put(change('b', '1'));
    cache.put(change('a', null));
    cache.put(change('b', null));
    cache.put(change('b', '3'));
    expect(text(cache.changes())).toEqual([
      ['a', null],
      ['b', '3'],
    ]);
  });

  it('keeps changes of the same key in different topics or partitions apart', () => {
    const cache = new ChangelogCache<Change>();
    cache.put(change('a', '1', 't1', 0));
    cache.put(change('a', '2', 't1', 1));
    cache.put(change('a', '3', 't2', 0));
    cache.put(change('a', '4', 't1', 0));
    expect(cache.changes().map((c) => `${c.topic}/${c.partition}=${c.value?.toString()}`)).toEqual([
      't1/1=2',
      't2/0=3',
      't1/0=4',
    ]);
  });

  it('restoring the cached changes rebuilds the same key-value store as restoring every change', () => {
    const cache = new ChangelogCache<Change>();
    const all: Change[] = [];
    const log = {
      append: (key: Buffer, serialize: (() => Buffer | null) | null) => {
        const c = { topic: 't', partition: 0, key, value: serialize === null ? null : serialize() };
        all.push(c);
        cache.put(c);
      },
    };
    const kv = () => new InMemoryKeyValueStore('kv', jsonSerde<string>(), jsonSerde<number>(), 100, log);
    const store = kv();
    for (let i = 0; i < 50; i += 1) store.put(`k${i % 7}`, i);
    store.delete('k3');
    store.delete('k5');
    store.put('k5', 99);
    expect(cache.changes().length).toBeLessThan(all.length);
    const fromCache = kv();
    for (const c of cache.changes()) fromCache.restore(c.key as Buffer, c.value);
    const fromAll = kv();
    for (const c of all) fromAll.restore(c.key as Buffer, c.value);
    expect([...fromCache.entries()].sort()).toEqual([...fromAll.entries()].sort());
    expect([...fromCache.entries()].sort()).toEqual([...store.entries()].sort());
  });

  it('restoring the cached changes rebuilds the same window store (window deletes as tombstones)', () => {
    const cache = new ChangelogCache<Change>();
    const log = {
      append: (key: Buffer, serialize: (() => Buffer | null) | null) =>
        void cache.put({ topic: 't', partition: 0, key, value: serialize === null ? null : serialize() }),
    };
    const ws = () => new InMemoryWindowStore('ws', jsonSerde<string>(), jsonSerde<number>(), 100, log);
    const store = ws();
    for (let i = 0; i < 20; i += 1) store.put('k', { start: (i % 3) * 10, end: (i % 3) * 10 + 10 }, i);
    store.delete('k', { start: 0, end: 10 });
    const tombstones = cache.changes().filter((c) => c.value === null);
    expect(tombstones).toHaveLength(1);
    const restored = ws();
    for (const c of cache.changes()) restored.restore(c.key as Buffer, c.value);
    const windows = (w: InMemoryWindowStore<string, number>) =>
      w
        .fetch('k')
        .map((e) => [e.window.start, e.value])
        .sort((a, b) => a[0]! - b[0]!);
    expect(windows(restored)).toEqual(windows(store));
    expect(windows(restored)).toEqual([
      [10, 19],
      [20, 17],
    ]);
    expect(restored.size()).toBe(2);
  });
});
