import { keyValueStoreSpec, TopologyBuilder } from '../index';
import { internalTopics, REPARTITION_TOPIC_CONFIG } from './internal-topics';
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
