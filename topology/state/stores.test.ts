import { StateStoreFullError } from '../errors';
import { InMemoryKeyValueStore } from './key-value-store';
import { InMemoryWindowStore } from './window-store';
import { jsonSerde } from '../serde';
import { recordingChangelog } from '../testing/recording-changelog';

describe('state stores', () => {
  it('key-value: every change is logged, and replaying the log rebuilds the same content', () => {
    const log = recordingChangelog();
    const store = new InMemoryKeyValueStore('kv', jsonSerde<string>(), jsonSerde<{ n: number }>(), 10, log);
    store.put('a', { n: 1 });
    store.put('b', { n: 2 });
    store.put('a', { n: 3 });
    store.delete('b');
    store.delete('missing'); // nothing to delete: nothing logged
    expect(log.records).toHaveLength(4);
    expect(log.records[3]![1]).toBeNull();
    const restored = new InMemoryKeyValueStore(
      'kv',
      jsonSerde<string>(),
      jsonSerde<{ n: number }>(),
      10,
      recordingChangelog(),
    );
    for (const [key, value] of log.records) restored.restore(key, value);
    expect([...restored.entries()]).toEqual([['a', { n: 3 }]]);
  });

  it('key-value: bounded; overwrite at the bound is fine, a new key is refused', () => {
    const store = new InMemoryKeyValueStore(
      'kv',
      jsonSerde<string>(),
      jsonSerde<number>(),
      1,
      recordingChangelog(),
    );
    store.put('a', 1);
    store.put('a', 2);
    expect(() => store.put('b', 1)).toThrow(StateStoreFullError);
    expect(store.get('a')).toBe(2);
  });

  it('window: indexed by key and by end; restore from the changelog gives the same windows', () => {
    const log = recordingChangelog();
    const store = new InMemoryWindowStore('w', jsonSerde<string | null>(), jsonSerde<number>(), 10, log);
    store.put('a', { start: 0, end: 10 }, 1);
    store.put('a', { start: 10, end: 20 }, 2);
    store.put('b', { start: 5, end: 15 }, 3);
    store.put(null, { start: 0, end: 10 }, 4);
    store.put('a', { start: 0, end: 10 }, 5);
    store.delete('b', { start: 5, end: 15 });
    expect(store.size()).toBe(3);
    expect(
      store
        .fetch('a')
        .map((e) => e.value)
        .sort(),
    ).toEqual([2, 5]);
    expect(store.endingAtOrBefore(10).map((e) => [e.key, e.value])).toEqual([
      ['a', 5],
      [null, 4],
    ]);
    const restored = new InMemoryWindowStore(
      'w',
      jsonSerde<string | null>(),
      jsonSerde<number>(),
      10,
      recordingChangelog(),
    );
    for (const [key, value] of log.records) restored.restore(key, value);
    expect(restored.size()).toBe(3);
    expect(restored.endingAtOrBefore(100).map((e) => [e.key, e.window, e.value])).toEqual(
      store.endingAtOrBefore(100).map((e) => [e.key, e.window, e.value]),
    );
  });

  it('window: bounded in entries', () => {
    const store = new InMemoryWindowStore(
      'w',
      jsonSerde<string>(),
      jsonSerde<number>(),
      2,
      recordingChangelog(),
    );
    store.put('a', { start: 0, end: 1 }, 1);
    store.put('a', { start: 1, end: 2 }, 1);
    expect(() => store.put('a', { start: 2, end: 3 }, 1)).toThrow(StateStoreFullError);
    store.delete('a', { start: 0, end: 1 });
    store.put('a', { start: 2, end: 3 }, 1);
    expect(store.endingAtOrBefore(3).map((e) => e.window.start)).toEqual([1, 2]);
  });
});
