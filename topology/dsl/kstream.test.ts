import { map, scan } from 'rxjs';
import { TopologyDefinitionError } from '../errors';
import type { StreamRecord } from '../processor/record';
import { stringSerde } from '../serde';
import { CollectingSink } from '../testing/collecting-sink';
import { TopologyTestDriver } from '../testing/topology-test-driver';
import { tumblingWindows } from '../windows/tumbling';
import type { Windowed } from '../windows/window';
import { TopologyBuilder } from './topology-builder';

describe('KStream stateless operators', () => {
  it('map, mapValues, filter, flatMap, flatMapValues, peek and a raw RxJS operator', () => {
    const builder = new TopologyBuilder();
    const peeked: string[] = [];
    builder
      .stream<string, string>('lines', 'lines', { keySerde: stringSerde(), valueSerde: stringSerde() })
      .filter('non-empty', (r) => r.value !== '')
      .flatMapValues('words', (line) => line.split(' '))
      .mapValues('upper', (w) => w.toUpperCase())
      .peek('spy', (r) => peeked.push(r.value))
      .pipe(
        'tag',
        map((r: StreamRecord<string, string>) => ({ ...r, value: `${r.value}!` })),
      )
      .map('swap', (r) => ({ key: r.value, value: r.key }))
      .flatMap('twice', (r) => [r, { key: r.key, value: `${r.value}'` }])
      .to('out', 'words');
    const driver = new TopologyTestDriver(builder.build());
    const input = driver.createInputTopic('lines', { keySerde: stringSerde(), valueSerde: stringSerde() });
    input.pipe('l1', 'a b', 1);
    input.pipe('l2', '', 2);
    expect(peeked).toEqual(['A', 'B']);
    const out = driver.createOutputTopic<string, string>('words').readRecords();
    expect(out.map((r) => [r.key, r.value, r.timestamp])).toEqual([
      ['A!', 'l1', 1],
      ['A!', "l1'", 1],
      ['B!', 'l1', 1],
      ['B!', "l1'", 1],
    ]);
    driver.close();
  });

  it('branch sends each record to the first matching branch only; merge interleaves', () => {
    const builder = new TopologyBuilder();
    const [small, medium] = builder.stream<string, number>('n', 'numbers').branch(
      'size',
      (r) => r.value < 10,
      (r) => r.value < 100,
    );
    small!.to('small-out', 'small');
    medium!
      .mapValues('x10', (v) => v * 10)
      .merge('both', small!)
      .to('merged-out', 'merged');
    const driver = new TopologyTestDriver(builder.build());
    const input = driver.createInputTopic<string, number>('numbers');
    for (const v of [1, 50, 500, 7]) input.pipe('k', v, 0);
    expect(
      driver
        .createOutputTopic<string, number>('small')
        .readKeyValues()
        .map((kv) => kv.value),
    ).toEqual([1, 7]);
    expect(
      driver
        .createOutputTopic<string, number>('merged')
        .readKeyValues()
        .map((kv) => kv.value),
    ).toEqual([1, 500, 7]);
    driver.close();
  });

  it('raw RxJS operators keep their state across records of a task (the pipeline is long-lived)', () => {
    const builder = new TopologyBuilder();
    builder
      .stream<string, number>('n', 'numbers')
      .pipe(
        'running-total',
        scan((acc: StreamRecord<string, number>, r: StreamRecord<string, number>) => ({
          ...r,
          value: acc.value + r.value,
        })),
      )
      .to('out', 'totals');
    const driver = new TopologyTestDriver(builder.build());
    const input = driver.createInputTopic<string, number>('numbers');
    for (const v of [1, 2, 3]) input.pipe('k', v, 0);
    expect(
      driver
        .createOutputTopic<string, number>('totals')
        .readKeyValues()
        .map((kv) => kv.value),
    ).toEqual([1, 3, 6]);
    driver.close();
  });

  it('selectKey + repartition routes records through the internal topic before a stateful step', () => {
    const builder = new TopologyBuilder();
    builder
      .stream<string, { user: string }>('clicks', 'clicks')
      .selectKey('by-user', (r) => r.value.user)
      .repartition('by-user')
      .windowedBy(tumblingWindows({ sizeMs: 10, graceMs: 0 }))
      .count('per-user')
      .to('out', 'counts');
    const topology = builder.build();
    expect(topology.subTopologies).toHaveLength(2);
    const driver = new TopologyTestDriver(topology, { applicationId: 'app' });
    const input = driver.createInputTopic<string, { user: string }>('clicks');
    input.pipe('s1', { user: 'ann' }, 1);
    input.pipe('s2', { user: 'bob' }, 2);
    input.pipe('s3', { user: 'ann' }, 3);
    input.pipe('s4', { user: 'ann' }, 20);
    expect(driver.produced('app-by-user-repartition').map((r) => r.key?.toString())).toEqual([
      '"ann"',
      '"bob"',
      '"ann"',
      '"ann"',
    ]);
    expect(driver.createOutputTopic<Windowed<string>, number>('counts').readKeyValues()).toEqual([
      { key: { key: 'ann', window: { start: 0, end: 10 } }, value: 2 },
      { key: { key: 'bob', window: { start: 0, end: 10 } }, value: 1 },
    ]);
    driver.close();
  });

  it('refuses a stateful step after a key change without repartition, and duplicate names', () => {
    const builder = new TopologyBuilder();
    const rekeyed = builder.stream<string, string>('s', 's').selectKey('k', (r) => r.value);
    expect(() => rekeyed.windowedBy(tumblingWindows({ sizeMs: 1, graceMs: 0 }))).toThrow(
      TopologyDefinitionError,
    );
    expect(() => rekeyed.mapValues('k', (v) => v)).toThrow(/already exists/);
    expect(() => builder.stream('other', 's')).toThrow(/read by two sources/);
  });

  it('hands records to external sinks with their source position; flush gets the ranges', async () => {
    const builder = new TopologyBuilder();
    const sink = new CollectingSink<string, string>('mem');
    builder.stream<string, string>('s', 'in').toSink('to-mem', sink);
    const driver = new TopologyTestDriver(builder.build());
    const input = driver.createInputTopic<string, string>('in');
    input.pipe('a', '1', 0);
    input.pipe('b', '2', 0);
    expect(sink.buffered.map((w) => w.source)).toEqual([
      { topic: 'in', partition: 0, offset: '0' },
      { topic: 'in', partition: 0, offset: '1' },
    ]);
    await driver.commit();
    expect(sink.flushed).toEqual([
      {
        records: [
          expect.objectContaining({ key: 'a', value: '1' }),
          expect.objectContaining({ key: 'b', value: '2' }),
        ],
        ranges: [{ topic: 'in', partition: 0, firstOffset: '0', lastOffset: '1' }],
      },
    ]);
    driver.close();
  });
});
