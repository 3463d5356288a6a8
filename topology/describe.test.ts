import { describeTopology } from './describe';
import { TopologyBuilder } from './dsl/topology-builder';
import { joinWindows } from './join/join-windows';
import { CollectingSink } from './testing/collecting-sink';
import { tumblingWindows } from './windows/tumbling';

describe('describeTopology', () => {
  it('prints sub-topologies, nodes with their links and stores, stores and internal topics', () => {
    const builder = new TopologyBuilder();
    const clicks = builder
      .stream<string, { user: string }>('clicks', 'clicks')
      .selectKey('by-user', (r) => r.value.user)
      .repartition('clicks-by-user', { partitions: 4 });
    const users = builder.stream<string, string>('users', 'users');
    const joined = clicks.join('click-user', users, (c, u) => ({ ...c, name: u }), {
      windows: joinWindows({ timeDifferenceMs: 1000, graceMs: 0 }),
    });
    joined
      .windowedBy(tumblingWindows({ sizeMs: 60_000, graceMs: 0 }))
      .count('per-minute')
      .to('counts', 'click-counts');
    joined.toSink('archive', new CollectingSink('s3-archive'));
    expect(describeTopology(builder.build(), 'app')).toBe(
      [
        'Topologies:',
        '   Sub-topology: 0',
        '    Source: clicks (topics: [clicks])',
        '      --> by-user',
        '    Processor: by-user (stores: [])',
        '      --> clicks-by-user-sink',
        '      <-- clicks',
        '    Sink: clicks-by-user-sink (topic: app-clicks-by-user-repartition)',
        '      <-- by-user',
        '   Sub-topology: 1',
        '    Source: clicks-by-user-source (topics: [app-clicks-by-user-repartition])',
        '      --> click-user',
        '    Source: users (topics: [users])',
        '      --> click-user',
        '    Processor: click-user (stores: [click-user-left-store, click-user-right-store])',
        '      --> per-minute, archive',
        '      <-- clicks-by-user-source, users',
        '    Processor: per-minute (stores: [per-minute-store])',
        '      --> counts',
        '      <-- click-user',
        '    Sink: counts (topic: click-counts)',
        '      <-- per-minute',
        '    Sink: archive (external: s3-archive)',
        '      <-- click-user',
        'Stores:',
        '   click-user-left-store (window, max 100000 entries, changelog: app-click-user-left-store-changelog)',
        '   click-user-right-store (window, max 100000 entries, changelog: app-click-user-right-store-changelog)',
        '   per-minute-store (window, max 100000 entries, changelog: app-per-minute-store-changelog)',
        'Internal topics:',
        '   app-clicks-by-user-repartition (repartition, partitions: 4)',
        '   app-click-user-left-store-changelog (changelog, compacted)',
        '   app-click-user-right-store-changelog (changelog, compacted)',
        '   app-per-minute-store-changelog (changelog, compacted)',
        '',
      ].join('\n'),
    );
  });
});
