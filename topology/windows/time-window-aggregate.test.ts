import { TopologyBuilder } from '../dsl/topology-builder';
import { HEADER } from '../processor/record';
import { TopologyTestDriver } from '../testing/topology-test-driver';
import { hoppingWindows } from './hopping';
import { tumblingWindows } from './tumbling';
import type { TimeWindows, Windowed } from './window';

function countTopology(windows: TimeWindows, emit: 'final' | 'updates' = 'final') {
  const builder = new TopologyBuilder();
  builder
    .stream<string, number>('events', 'events')
    .windowedBy(windows)
    .count('counts', { emit })
    .to('counts-out', 'counts');
  return new TopologyTestDriver(builder.build(), { applicationId: 'app' });
}

describe('windowed aggregation over time windows', () => {
  it('tumbling: emits each window once, when stream time reaches end + grace', () => {
    const driver = countTopology(tumblingWindows({ sizeMs: 10, graceMs: 5 }));
    const input = driver.createInputTopic<string, number>('events');
    const output = driver.createOutputTopic<Windowed<string>, number>('counts');
    input.pipe('a', 1, 1);
    input.pipe('a', 1, 9);
    input.pipe('b', 1, 3);
    input.pipe('a', 1, 12);
    input.pipe('a', 1, 14); // stream time 14 < 10 + 5: window [0,10) still open
    expect(output.readRecords()).toEqual([]);
    input.pipe('a', 1, 8); // in grace: counted
    input.pipe('c', 1, 15); // stream time 15 = end + grace: [0,10) closes
    expect(output.readKeyValues()).toEqual([
      { key: { key: 'a', window: { start: 0, end: 10 } }, value: 3 },
      { key: { key: 'b', window: { start: 0, end: 10 } }, value: 1 },
    ]);
    input.pipe('c', 1, 100);
    const late = output.readRecords();
    expect(late.map((r) => [r.key, r.value, r.timestamp])).toEqual([
      [{ key: 'a', window: { start: 10, end: 20 } }, 2, 14],
      [{ key: 'c', window: { start: 10, end: 20 } }, 1, 15],
    ]);
    driver.close();
  });

  it('routes records later than end + grace to the late topic with headers, and counts them nowhere else', () => {
    const driver = countTopology(tumblingWindows({ sizeMs: 10, graceMs: 2 }));
    const input = driver.createInputTopic<string, number>('events');
    const output = driver.createOutputTopic<Windowed<string>, number>('counts');
    const late = driver.createOutputTopic<string, number>(driver.lateTopic);
    input.pipe('a', 1, 5);
    input.pipe('a', 2, 12); // closes [0,10)
    expect(output.readKeyValues()).toEqual([{ key: { key: 'a', window: { start: 0, end: 10 } }, value: 1 }]);
    input.pipe('a', 3, 9, { trace: 't1' }); // [0,10) closed at 12: late
    const lateRecords = late.readRecords();
    expect(lateRecords).toHaveLength(1);
    expect(lateRecords[0]).toMatchObject({ key: 'a', value: 3, timestamp: 9 });
    expect(lateRecords[0]!.headers).toMatchObject({
      trace: 't1',
      [HEADER.lateProcessor]: 'counts',
      [HEADER.lateWindowEnd]: '10',
      [HEADER.lateStreamTime]: '12',
      [HEADER.sourceTopic]: 'events',
      [HEADER.sourceOffset]: '2',
    });
    input.pipe('a', 1, 30);
    // The late record did not reopen [0,10); [10,20) has only the record at 12.
    expect(output.readKeyValues()).toEqual([{ key: { key: 'a', window: { start: 10, end: 20 } }, value: 1 }]);
    expect(driver.windowStore('counts-store').size()).toBe(1); // only [30,40) left
    driver.close();
  });

  it('hopping: a record counts in every overlapping window; a partly late record only in the open ones', () => {
    const driver = countTopology(hoppingWindows({ sizeMs: 10, advanceMs: 5, graceMs: 0 }));
    const input = driver.createInputTopic<string, number>('events');
    const output = driver.createOutputTopic<Windowed<string>, number>('counts');
    const late = driver.createOutputTopic<string, number>(driver.lateTopic);
    input.pipe('k', 1, 7); // windows [0,10) and [5,15)
    input.pipe('k', 1, 12); // [5,15) and [10,20); stream time 12 closes nothing
    input.pipe('k', 1, 10); // [5,15), [10,20): stream time 12 >= end 10 closed [0,10) already
    expect(output.readKeyValues()).toEqual([{ key: { key: 'k', window: { start: 0, end: 10 } }, value: 1 }]);
    input.pipe('k', 1, 4); // 4 is only in [0,10), which is closed: late
    expect(late.readRecords().map((r) => r.timestamp)).toEqual([4]);
    input.pipe('k', 1, 9); // [0,10) closed, [5,15) open: counted there, not late
    expect(late.isEmpty()).toBe(true);
    input.pipe('k', 1, 40);
    expect(output.readKeyValues()).toEqual([
      { key: { key: 'k', window: { start: 5, end: 15 } }, value: 4 },
      { key: { key: 'k', window: { start: 10, end: 20 } }, value: 2 },
    ]);
    driver.close();
  });

  it('updates mode emits every change and still evicts closed windows', () => {
    const driver = countTopology(tumblingWindows({ sizeMs: 10, graceMs: 0 }), 'updates');
    const input = driver.createInputTopic<string, number>('events');
    const output = driver.createOutputTopic<Windowed<string>, number>('counts');
    input.pipe('a', 1, 1);
    input.pipe('a', 1, 2);
    input.pipe('a', 1, 11);
    expect(output.readRecords().map((r) => r.value)).toEqual([1, 2, 1]);
    expect(driver.windowStore('counts-store').size()).toBe(1);
    driver.close();
  });

  it('aggregates with a custom aggregator and writes every store change to the changelog', () => {
    const builder = new TopologyBuilder();
    builder
      .stream<string, number>('in', 'in')
      .windowedBy(tumblingWindows({ sizeMs: 100, graceMs: 0 }))
      .aggregate<{ sum: number; max: number }>('stats', {
        initializer: () => ({ sum: 0, max: Number.NEGATIVE_INFINITY }),
        aggregator: (_k, v, acc) => ({ sum: acc.sum + v, max: Math.max(acc.max, v) }),
      })
      .mapValues('avg-free', (v) => v)
      .to('out', 'out');
    const driver = new TopologyTestDriver(builder.build(), { applicationId: 'app' });
    const input = driver.createInputTopic<string, number>('in');
    input.pipe('x', 5, 10);
    input.pipe('x', 7, 20);
    input.pipe('y', 1, 100);
    expect(driver.createOutputTopic('out').readKeyValues()).toEqual([
      { key: { key: 'x', window: { start: 0, end: 100 } }, value: { sum: 12, max: 7 } },
    ]);
    // put, put, put (y), delete at close (tombstone).
    const changelog = driver.produced('app-stats-store-changelog');
    expect(changelog.map((r) => r.value === null)).toEqual([false, false, false, true]);
    expect(changelog.every((r) => r.partition === 0)).toBe(true);
    driver.close();
  });
});
