import type { Kafka } from 'kafkajs';
import { joinWindows, TopologyBuilder, type StreamsAppOptions, type Topology } from '../../topology';
import { TopologyTestDriver } from '../../topology/testing';
import { StreamsApp } from '../../topology/runtime/streams-app';
import {
  createTopics,
  produce,
  readTopic,
  testAppOptions,
  testKafka,
  uniqueName,
} from '../support/topology-kafka';
import { waitFor } from '../support/wait-for';

jest.setTimeout(180_000);

/**
 * A task with two inputs (a left join with a short window and no grace) gives results that depend
 * on the order its records are processed in: a right record processed after left records far ahead
 * of it finds them evicted, and a left record is forwarded unmatched once the join's stream time
 * passed its window. Processed in timestamp order across both inputs (max.task.idle.ms), the
 * results are those of the TopologyTestDriver fed in timestamp order, however the records were
 * produced and fetched.
 */
function leftJoinTopology(left: string, right: string, output: string): Topology {
  const builder = new TopologyBuilder();
  const l = builder.stream<string, number>('left', left);
  const r = builder.stream<string, number>('right', right);
  l.leftJoin('joined', r, (lv, rv) => `${lv}:${rv ?? 'none'}`, {
    windows: joinWindows({ timeDifferenceMs: 300, graceMs: 0 }),
  }).to('out', output);
  return builder.build();
}

interface Input {
  readonly side: 'left' | 'right';
  readonly key: string;
  readonly value: number;
  readonly timestamp: number;
}

const base = 1_700_000_000_000;
/** Distinct timestamps across both sides; every third right record missing (unmatched lefts). */
const inputs: Input[] = [
  ...Array.from({ length: 60 }, (_, i) => ({
    side: 'left' as const,
    key: `k${i % 3}`,
    value: i,
    timestamp: base + i * 500,
  })),
  ...Array.from({ length: 60 }, (_, i) => ({
    side: 'right' as const,
    key: `k${i % 3}`,
    value: 1_000 + i,
    timestamp: base + i * 500 + 250 + (i % 2) * 100,
  })).filter((_, i) => i % 3 !== 2),
].sort((a, b) => a.timestamp - b.timestamp);

const asMessage = (r: Input) => ({
  key: JSON.stringify(r.key),
  value: JSON.stringify(r.value),
  timestamp: String(r.timestamp),
});

describe('timestamp-synchronized processing of a task with two inputs', () => {
  let kafka: Kafka;
  let expected: string[];
  beforeAll(() => {
    kafka = testKafka();
    const driver = new TopologyTestDriver(leftJoinTopology('l', 'r', 'o'), { applicationId: 'sync' });
    const topics = {
      left: driver.createInputTopic<string, number>('l'),
      right: driver.createInputTopic<string, number>('r'),
    };
    for (const r of inputs) topics[r.side].pipe(r.key, r.value, r.timestamp);
    expected = driver
      .createOutputTopic<string, string>('o')
      .readRecords()
      .map((r) => `${r.key}|${r.value}|${r.timestamp}`);
    driver.close();
    // The scenario exercises what ordering changes: matches, and lefts that stay unmatched.
    expect(expected.filter((e) => e.includes(':none')).length).toBeGreaterThan(10);
    expect(expected.filter((e) => !e.includes(':none')).length).toBeGreaterThan(10);
  });

  async function run(
    produceInputs: (left: string, right: string) => Promise<void>,
    options: { startFirst?: boolean; maxTaskIdleMs?: number } = {},
  ): Promise<string[]> {
    const [left, right, output, appId] = ['sync-left', 'sync-right', 'sync-out', 'sync-app'].map(
      uniqueName,
    ) as [string, string, string, string];
    await createTopics(kafka, [
      { topic: left, partitions: 1 },
      { topic: right, partitions: 1 },
      { topic: output, partitions: 1 },
    ]);
    const appOptions: StreamsAppOptions = testAppOptions(appId, {
      maxTaskIdleMs: options.maxTaskIdleMs,
    });
    const app = new StreamsApp(leftJoinTopology(left, right, output), appOptions);
    if (!options.startFirst) await produceInputs(left, right);
    await app.start();
    try {
      if (options.startFirst) await produceInputs(left, right);
      return await readOutput(output);
    } finally {
      await app.stop();
    }
  }

  async function readOutput(output: string): Promise<string[]> {
    const got = await readTopic(kafka, output, { until: (records) => records.length >= expected.length });
    return got.map(
      (r) =>
        `${JSON.parse(r.key ?? 'null') as string}|${JSON.parse(r.value ?? 'null') as string}|${r.timestamp}`,
    );
  }

  const side = (s: Input['side']) => inputs.filter((r) => r.side === s).map(asMessage);

  it('in timestamp order, produced interleaved: the TopologyTestDriver’s output, in its order', async () => {
    const got = await run(async (left, right) => {
      // Interleaved in small alternating runs, as they come.
      for (let i = 0; i < inputs.length; i += 10) {
        const chunk = inputs.slice(i, i + 10);
        await produce(kafka, left, chunk.filter((r) => r.side === 'left').map(asMessage));
        await produce(kafka, right, chunk.filter((r) => r.side === 'right').map(asMessage));
      }
    });
    expect(got).toEqual(expected);
  });

  it('the right input produced (and fetched) before the left: the same output', async () => {
    const got = await run(async (left, right) => {
      await produce(kafka, right, side('right'));
      await produce(kafka, left, side('left'));
    });
    expect(got).toEqual(expected);
  });

  it('the left input produced before the right: the same output', async () => {
    const got = await run(async (left, right) => {
      await produce(kafka, left, side('left'));
      await produce(kafka, right, side('right'));
    });
    expect(got).toEqual(expected);
  });

  it('live, the right input arriving first: max.task.idle.ms holds it for the left one', async () => {
    const got = await run(
      async (left, right) => {
        await produce(kafka, right, side('right'));
        await produce(kafka, left, side('left'));
      },
      // Generous: the left records only have to be produced within it, on a loaded machine too.
      { startFirst: true, maxTaskIdleMs: 20_000 },
    );
    expect(got).toEqual(expected);
  });

  it('commits no offset past records buffered and not processed: a restart fetches them again', async () => {
    const [left, right, output, appId] = ['held-left', 'held-right', 'held-out', 'held-app'].map(
      uniqueName,
    ) as [string, string, string, string];
    await createTopics(kafka, [
      { topic: left, partitions: 1 },
      { topic: right, partitions: 1 },
      { topic: output, partitions: 1 },
    ]);
    const options = (maxTaskIdleMs?: number): StreamsAppOptions =>
      testAppOptions(appId, {
        maxTaskIdleMs,
      });
    await produce(kafka, left, side('left'));
    // The right input is empty and caught up: the left records wait for it (10 minutes here).
    const waiting = new StreamsApp(leftJoinTopology(left, right, output), options(600_000));
    await waiting.start();
    try {
      await waitFor(
        'the left records to be fetched',
        async () =>
          (await waiting.metrics.consumerLag.get()).values.some(
            (v) => v.labels.topic === left && v.value === 0,
          ),
        60_000,
      );
    } finally {
      await waiting.stop();
    }
    // Fetched, buffered, never processed: nothing committed for them, nothing produced.
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [committed] = await admin.fetchOffsets({ groupId: appId, topics: [left] });
      expect(committed?.partitions).toEqual([expect.objectContaining({ partition: 0, offset: '-1' })]);
    } finally {
      await admin.disconnect();
    }
    expect(await readTopic(kafka, output)).toEqual([]);

    await produce(kafka, right, side('right'));
    const restarted = new StreamsApp(leftJoinTopology(left, right, output), options());
    await restarted.start();
    try {
      expect(await readOutput(output)).toEqual(expected);
    } finally {
      await restarted.stop();
    }
  });
});
