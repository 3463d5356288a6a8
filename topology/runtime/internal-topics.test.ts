import { keyValueStoreSpec, TopologyBuilder } from '../index';
import { configDrift, internalTopics, REPARTITION_TOPIC_CONFIG } from './internal-topics';
import { planPartitions } from './partition-plan';

describe('internalTopics', () => {
  it('gives repartition topics small segments (purged records free their disk), changelogs compaction', () => {
    const builder = new TopologyBuilder();
    builder.addStateStore(keyValueStoreSpec<string, number>('counts'));
    builder
      .stream<string, string>('in', 'it-in')
      .selectKey('rekey', (r) => r.value)
      .repartition('by-key')
      .process('count', () => ({ init: () => undefined, process: () => undefined }), { stores: ['counts'] });
    const topology = builder.build();
    const plan = planPartitions(topology, 'app', new Map([['it-in', 3]]));
    const topics = internalTopics(topology, 'app', plan, { lateTopic: 'app-late', dlqTopic: 'app-dlq' });
    expect(topics).toEqual([
      {
        topic: 'app-by-key-repartition',
        numPartitions: 3,
        compacted: false,
        config: REPARTITION_TOPIC_CONFIG,
      },
      { topic: 'app-counts-changelog', numPartitions: 3, compacted: true },
      { topic: 'app-late', numPartitions: 1, compacted: false },
      { topic: 'app-dlq', numPartitions: 1, compacted: false },
    ]);
    expect(REPARTITION_TOPIC_CONFIG).toEqual({
      'segment.bytes': String(50 * 1024 * 1024),
      'retention.ms': '-1',
    });
  });
});

describe('configDrift', () => {
  const repartition = {
    topic: 'app-r',
    numPartitions: 3,
    compacted: false,
    config: REPARTITION_TOPIC_CONFIG,
  };
  const changelog = { topic: 'app-c', numPartitions: 3, compacted: true };

  it('names each setting of a topic that differs on the broker', () => {
    const described = new Map([
      [
        'app-r',
        new Map([
          ['segment.bytes', '52428800'],
          ['retention.ms', '604800000'],
        ]),
      ],
    ]);
    expect(configDrift([repartition, changelog], described)).toEqual([
      { topic: 'app-r', name: 'retention.ms', actual: '604800000', wanted: '-1' },
    ]);
  });

  it('finds nothing when the settings match or were not described', () => {
    const matching = new Map([['app-r', new Map(Object.entries(REPARTITION_TOPIC_CONFIG))]]);
    expect(configDrift([repartition], matching)).toEqual([]);
    expect(configDrift([repartition], new Map())).toEqual([]);
  });
});
