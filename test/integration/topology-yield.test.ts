import type { Kafka } from 'kafkajs';
import { TopologyBuilder, type Topology } from '../../topology';
import { StreamsApp } from '../../topology/runtime/streams-app';
import {
  createTopics,
  produce,
  readTopic,
  testAppOptions,
  testKafka,
  uniqueName,
} from '../support/topology-kafka';

jest.setTimeout(120_000);

/**
 * A task processing a large fetch yields to pending I/O every few milliseconds (stream-thread.ts,
 * PROCESSING_SLICE_MS): the commit in flight, other applications' fetches and the API share the
 * thread. Each record here takes 3 ms of CPU (busy, as a heavy OTLP batch does), and records the
 * count of event-loop turns so far, counted by a setImmediate loop: processed in one stretch, every
 * record of the fetch would see the same count.
 */
const RECORD_CPU_MS = 3;
const RECORDS = 40;

function slowTopology(input: string, output: string, turns: () => number): Topology {
  const builder = new TopologyBuilder();
  builder
    .stream<string, string>('in', input)
    .mapValues('slow', (value) => {
      const until = performance.now() + RECORD_CPU_MS;
      while (performance.now() < until); // CPU-bound work, not a wait: nothing to await
      return `${value}@${turns()}`;
    })
    .to('out', output);
  return builder.build();
}

describe('a task processing a large fetch', () => {
  let kafka: Kafka;
  beforeAll(() => {
    kafka = testKafka();
  });

  it('lets the event loop turn while it processes', async () => {
    const [input, output, appId] = ['yield-in', 'yield-out', 'yield-app'].map(uniqueName) as [
      string,
      string,
      string,
    ];
    await createTopics(kafka, [
      { topic: input, partitions: 1 },
      { topic: output, partitions: 1 },
    ]);
    // One produce request: one record batch, fetched and processed as one.
    await produce(
      kafka,
      input,
      Array.from({ length: RECORDS }, (_, i) => ({
        key: JSON.stringify('k'),
        value: JSON.stringify(`r${i}`),
      })),
    );
    let turns = 0;
    let counting = true;
    const turn = (): void => {
      turns += 1;
      if (counting) setImmediate(turn);
    };
    setImmediate(turn);
    const app = new StreamsApp(
      slowTopology(input, output, () => turns),
      testAppOptions(appId),
    );
    await app.start();
    try {
      const records = await readTopic(kafka, output, { until: (got) => got.length >= RECORDS });
      const seen = records.map((r) => Number((JSON.parse(r.value ?? 'null') as string).split('@')[1]));
      expect(records).toHaveLength(RECORDS);
      // 40 records of 3 ms: a turn at least every 5 ms of processing, so well over 5 distinct counts.
      expect(new Set(seen).size).toBeGreaterThanOrEqual(5);
    } finally {
      counting = false;
      await app.stop();
    }
  });
});
