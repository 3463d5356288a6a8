import { TopologyBuilder } from '../dsl/topology-builder';
import { TopologyTestDriver } from '../testing/topology-test-driver';
import { sessionWindows } from './session';
import type { Windowed } from './window';

function sessionDriver(gap: number, grace: number) {
  const builder = new TopologyBuilder();
  builder
    .stream<string, string>('clicks', 'clicks')
    .windowedBy(sessionWindows({ inactivityGapMs: gap, graceMs: grace }))
    .aggregate<string[]>('sessions', {
      initializer: () => [],
      aggregator: (_k, v, acc) => [...acc, v],
      merger: (_k, a, b) => [...a, ...b],
    })
    .to('out', 'sessions');
  const driver = new TopologyTestDriver(builder.build(), { applicationId: 'app' });
  return {
    driver,
    input: driver.createInputTopic<string, string>('clicks'),
    output: driver.createOutputTopic<Windowed<string>, string[]>('sessions'),
    late: driver.createOutputTopic<string, string>(driver.lateTopic),
  };
}

describe('session window aggregation', () => {
  it('groups records within the gap (inclusive) and emits a session once stream time passes end + gap + grace', () => {
    const { driver, input, output } = sessionDriver(10, 0);
    input.pipe('u', 'a', 0);
    input.pipe('u', 'b', 10); // exactly the gap: same session [0,10]
    input.pipe('u', 'c', 20); // within the gap again: [0,20]
    input.pipe('u', 'd', 31); // 11 after: new session; 20 + 10 + 0 < 31: [0,20] is final
    expect(output.readKeyValues()).toEqual([
      { key: { key: 'u', window: { start: 0, end: 20 } }, value: ['a', 'b', 'c'] },
    ]);
    input.pipe('v', 'x', 100);
    expect(output.readKeyValues()).toEqual([
      { key: { key: 'u', window: { start: 31, end: 31 } }, value: ['d'] },
    ]);
    driver.close();
  });

  it('merges two sessions bridged by an out-of-order record', () => {
    const { driver, input, output } = sessionDriver(5, 20);
    input.pipe('u', 'a', 0);
    input.pipe('u', 'b', 10); // 10 > 0 + 5: separate session
    expect(driver.windowStore('sessions-store').size()).toBe(2);
    input.pipe('u', 'c', 5); // within 5 of both: merges [0,0] and [10,10] into [0,10]
    expect(driver.windowStore('sessions-store').size()).toBe(1);
    input.pipe('w', 'z', 35); // 10 + 5 + 20 = 35, not < 35
    expect(output.readKeyValues()).toEqual([]);
    input.pipe('w', 'z', 36);
    expect(output.readKeyValues()).toEqual([
      { key: { key: 'u', window: { start: 0, end: 10 } }, value: ['a', 'b', 'c'] },
    ]);
    driver.close();
  });

  it('keeps sessions of different keys apart and emits them in end order', () => {
    const { driver, input, output } = sessionDriver(5, 0);
    input.pipe('a', '1', 0);
    input.pipe('b', '2', 1);
    input.pipe('a', '3', 4);
    input.pipe('c', '4', 50);
    expect(output.readKeyValues()).toEqual([
      { key: { key: 'b', window: { start: 1, end: 1 } }, value: ['2'] },
      { key: { key: 'a', window: { start: 0, end: 4 } }, value: ['1', '3'] },
    ]);
    driver.close();
  });

  it('sends a record to the late topic when the session it would form ends before stream time - grace', () => {
    const { driver, input, output, late } = sessionDriver(5, 3);
    input.pipe('u', 'a', 100);
    input.pipe('u', 'old', 90); // own session [90,90]: 90 + 3 < 100, late
    input.pipe('u', 'ok', 96); // extends [100,100] to [96,100]: on time
    expect(late.readKeyValues()).toEqual([{ key: 'u', value: 'old' }]);
    input.pipe('x', '-', 200);
    expect(output.readKeyValues()).toEqual([
      { key: { key: 'u', window: { start: 96, end: 100 } }, value: ['a', 'ok'] },
    ]);
    driver.close();
  });

  it('extends a session past end + grace while an on-time record lands in its gap', () => {
    const { driver, input, output } = sessionDriver(10, 2);
    input.pipe('u', 'a', 0);
    input.pipe('v', '-', 5);
    input.pipe('u', 'b', 8); // 8 + 2 >= 5: on time, extends [0,0] to [0,8]
    input.pipe('v', '-', 30);
    expect(output.readKeyValues()).toEqual([
      { key: { key: 'v', window: { start: 5, end: 5 } }, value: ['-'] },
      { key: { key: 'u', window: { start: 0, end: 8 } }, value: ['a', 'b'] },
    ]);
    driver.close();
  });

  it('never reopens an emitted session: a record in its gap starts a new one', () => {
    const { driver, input, output, late } = sessionDriver(10, 2);
    input.pipe('u', 'a', 0);
    input.pipe('v', '-', 13); // close time 13 - 2 - 10 = 1 > 0: [0,0] emitted and evicted
    expect(output.readKeyValues()).toEqual([
      { key: { key: 'u', window: { start: 0, end: 0 } }, value: ['a'] },
    ]);
    input.pipe('u', 'b', 10); // within the gap of [0,0], which is gone: a session [10,10] of its own
    expect(late.isEmpty()).toBe(true);
    input.pipe('v', '-', 30);
    expect(output.readKeyValues()).toEqual([
      { key: { key: 'u', window: { start: 10, end: 10 } }, value: ['b'] },
      { key: { key: 'v', window: { start: 13, end: 13 } }, value: ['-'] },
    ]);
    driver.close();
  });

  it('allows the inactivity gap too before a record is late (issue 11 example)', () => {
    const { driver, input, output, late } = sessionDriver(10, 0);
    input.pipe('u', 'a', 0);
    input.pipe('u', 'b', 5);
    input.pipe('v', '-', 12); // close time 12 - 0 - 10 = 2: [0,5] is still open
    input.pipe('u', 'c', 3); // merged into [0,5], not late
    input.pipe('v', '-', 16); // close time 6: [0,5] closes
    expect(late.isEmpty()).toBe(true);
    expect(output.readKeyValues()).toEqual([
      { key: { key: 'u', window: { start: 0, end: 5 } }, value: ['a', 'b', 'c'] },
    ]);
    input.pipe('u', 'd', 4); // its session [4,4] ends before the close time 6: late
    expect(late.readKeyValues()).toEqual([{ key: 'u', value: 'd' }]);
    driver.close();
  });

  it('emit updates: a tombstone for each session a record merges away, then the new session', () => {
    const builder = new TopologyBuilder();
    builder
      .stream<string, string>('clicks', 'clicks')
      .windowedBy(sessionWindows({ inactivityGapMs: 5, graceMs: 20 }))
      .count('sessions', { emit: 'updates' })
      .to('out', 'sessions');
    const driver = new TopologyTestDriver(builder.build(), { applicationId: 'app' });
    const input = driver.createInputTopic<string, string>('clicks');
    input.pipe('u', 'a', 0);
    input.pipe('u', 'b', 10);
    input.pipe('u', 'c', 5);
    const out = driver.createOutputTopic<Windowed<string>, number | null>('sessions').readRecords();
    expect(out.map((r) => [r.key.window, r.value, r.timestamp])).toEqual([
      [{ start: 0, end: 0 }, 1, 0],
      [{ start: 10, end: 10 }, 1, 10],
      [{ start: 0, end: 0 }, null, 0],
      [{ start: 10, end: 10 }, null, 10],
      [{ start: 0, end: 10 }, 3, 10],
    ]);
    driver.close();
  });
});
