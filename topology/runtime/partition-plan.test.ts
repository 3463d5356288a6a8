import { TopologyBuilder } from '../dsl/topology-builder';
import { CoPartitioningError, TopologyDefinitionError } from '../errors';
import { joinWindows } from '../join/join-windows';
import { planPartitions } from './partition-plan';

const window = { windows: joinWindows({ timeDifferenceMs: 10, graceMs: 0 }) };

describe('planPartitions', () => {
  it('sizes a repartition topic from its writer when it is the only source of its reader', () => {
    const b = new TopologyBuilder();
    b.stream<string, string>('in', 'in')
      .selectKey('k', (r) => r.value)
      .repartition('rk')
      .to('out', 'out');
    const plan = planPartitions(b.build(), 'app', new Map([['in', 6]]));
    expect(plan.repartitionPartitions.get('app-rk-repartition')).toBe(6);
    expect([...plan.subTopologyPartitions]).toEqual([
      [0, 6],
      [1, 6],
    ]);
    expect(plan.subTopologyOfTopic.get('app-rk-repartition')).toBe(1);
  });

  it('sizes a repartition topic joined with an external topic like that topic', () => {
    const b = new TopologyBuilder();
    const left = b
      .stream<string, string>('a', 'a')
      .selectKey('k', (r) => r.value)
      .repartition('rk');
    left.join('j', b.stream<string, string>('b', 'b'), (x, y) => x + y, window).to('out', 'out');
    const plan = planPartitions(
      b.build(),
      'app',
      new Map([
        ['a', 8],
        ['b', 3],
      ]),
    );
    expect(plan.repartitionPartitions.get('app-rk-repartition')).toBe(3);
  });

  it('sizes repartition topics that are joined with each other from their largest writer', () => {
    const b = new TopologyBuilder();
    const left = b
      .stream<string, string>('a', 'a')
      .selectKey('ka', (r) => r.value)
      .repartition('ra');
    const right = b
      .stream<string, string>('b', 'b')
      .selectKey('kb', (r) => r.value)
      .repartition('rb');
    left.join('j', right, (x, y) => x + y, window).to('out', 'out');
    const plan = planPartitions(
      b.build(),
      'app',
      new Map([
        ['a', 2],
        ['b', 5],
      ]),
    );
    expect(plan.repartitionPartitions.get('app-ra-repartition')).toBe(5);
    expect(plan.repartitionPartitions.get('app-rb-repartition')).toBe(5);
    expect(plan.subTopologyPartitions.get(plan.subTopologyOfTopic.get('app-ra-repartition')!)).toBe(5);
  });

  it('refuses joined topics that are not co-partitioned, naming them', () => {
    const b = new TopologyBuilder();
    b.stream<string, string>('a', 'a')
      .join('j', b.stream<string, string>('b', 'b'), (x, y) => x + y, window)
      .to('o', 'o');
    expect(() =>
      planPartitions(
        b.build(),
        'app',
        new Map([
          ['a', 2],
          ['b', 3],
        ]),
      ),
    ).toThrow(CoPartitioningError);
    expect(() =>
      planPartitions(
        b.build(),
        'app',
        new Map([
          ['a', 2],
          ['b', 3],
        ]),
      ),
    ).toThrow(/a \(2 partitions\), b \(3 partitions\)/);
  });

  it('refuses an explicit repartition count that breaks co-partitioning, and missing topics', () => {
    const b = new TopologyBuilder();
    const left = b
      .stream<string, string>('a', 'a')
      .selectKey('k', (r) => r.value)
      .repartition('rk', { partitions: 5 });
    left.join('j', b.stream<string, string>('b', 'b'), (x, y) => x + y, window).to('out', 'out');
    expect(() =>
      planPartitions(
        b.build(),
        'app',
        new Map([
          ['a', 8],
          ['b', 3],
        ]),
      ),
    ).toThrow(CoPartitioningError);
    expect(() => planPartitions(b.build(), 'app', new Map([['a', 8]]))).toThrow(TopologyDefinitionError);
  });
});
