import type { Kafka } from 'kafkajs';
import {
  CoPartitioningError,
  HEADER,
  joinWindows,
  keyValueStoreSpec,
  stringSerde,
  TopologyBuilder,
  tumblingWindows,
  type KeyValueStore,
  type Topology,
  type Windowed,
} from '../../topology';
import { TopologyTestDriver } from '../../topology/testing';
import { StreamsApp } from '../../topology/runtime/streams-app';
import type { StreamsAppOptions } from '../../topology';
import {
  createTopics,
  produce,
  readTopic,
  testAppOptions,
  testKafka,
  uniqueName,
} from '../support/topology-kafka';

jest.setTimeout(120_000);

interface Order {
  id: string;
  item: string;
}

function joinTopology(orders: string, payments: string, output: string): Topology {
  const builder = new TopologyBuilder();
  const o = builder.stream<string, Order>('orders', orders);
  const p = builder.stream<string, number>('payments', payments);
  o.join('paid', p, (order, amount) => ({ order: order.id, amount }), {
    windows: joinWindows({ timeDifferenceMs: 1_000, graceMs: 86_400_000 }),
  }).to('out', output);
  return builder.build();
}

function startApp(topology: Topology, applicationId: string, options: Partial<StreamsAppOptions> = {}) {
  return new StreamsApp(
    topology,
    testAppOptions(applicationId, {
      transactionTimeoutMs: 10_000,
      ...options,
    }),
  );
}

describe('topology runtime on a real broker', () => {
  let kafka: Kafka;
  beforeAll(() => {
    kafka = testKafka();
  });

  it('a windowed join produces what the TopologyTestDriver produces for the same input', async () => {
    const [orders, payments, output, appId] = ['orders', 'payments', 'paid', 'join-app'].map(uniqueName) as [
      string,
      string,
      string,
      string,
    ];
    await createTopics(kafka, [
      { topic: orders, partitions: 3 },
      { topic: payments, partitions: 3 },
      { topic: output, partitions: 1 },
    ]);
    const base = 1_700_000_000_000;
    const orderInput = Array.from({ length: 60 }, (_, i) => ({
      key: `c${i % 7}`,
      value: { id: `o${i}`, item: `item${i % 3}` },
      timestamp: base + i * 400,
    }));
    const paymentInput = Array.from({ length: 60 }, (_, i) => ({
      key: `c${i % 5}`,
      value: 10 + i,
      timestamp: base + i * 390 + 150,
    }));

    const driver = new TopologyTestDriver(joinTopology(orders, payments, output), { applicationId: appId });
    const oIn = driver.createInputTopic<string, Order>(orders);
    const pIn = driver.createInputTopic<string, number>(payments);
    orderInput.forEach((r) => oIn.pipe(r.key, r.value, r.timestamp));
    paymentInput.forEach((r) => pIn.pipe(r.key, r.value, r.timestamp));
    const expected = driver
      .createOutputTopic<string, { order: string; amount: number }>(output)
      .readRecords()
      .map((r) => `${r.key}|${JSON.stringify(r.value)}|${r.timestamp}`)
      .sort();
    driver.close();
    expect(expected.length).toBeGreaterThan(20);

    await produce(
      kafka,
      orders,
      orderInput.map((r) => ({
        key: JSON.stringify(r.key),
        value: JSON.stringify(r.value),
        timestamp: String(r.timestamp),
      })),
    );
    await produce(
      kafka,
      payments,
      paymentInput.map((r) => ({
        key: JSON.stringify(r.key),
        value: JSON.stringify(r.value),
        timestamp: String(r.timestamp),
      })),
    );
    const app = startApp(joinTopology(orders, payments, output), appId);
    await app.start();
    try {
      const got = await readTopic(kafka, output, { until: (records) => records.length >= expected.length });
      const actual = got.map((r) => `${JSON.parse(r.key!)}|${r.value}|${r.timestamp}`).sort();
      expect(actual).toEqual(expected);
    } finally {
      await app.stop();
    }
  });

  it('commits what wall-clock punctuations produce, with no input arriving', async () => {
    const [input, output, appId] = ['tick-in', 'tick-out', 'tick-app'].map(uniqueName) as [
      string,
      string,
      string,
    ];
    await createTopics(kafka, [
      { topic: input, partitions: 1 },
      { topic: output, partitions: 1 },
    ]);
    const builder = new TopologyBuilder();
    builder
      .stream<string, number>('in', input)
      .process<string, number>('ticker', () => {
        let seen = 0;
        return {
          init: (ctx) =>
            void ctx.schedule(100, 'wall-clock', (now) =>
              ctx.forward({ key: 'tick', value: seen, timestamp: now, headers: {}, ...ctx.position() }),
            ),
          process: () => void (seen += 1),
        };
      })
      .to('out', output);
    await produce(kafka, input, [{ key: '"k"', value: '1' }]);
    const app = startApp(builder.build(), appId, { wallClockTickMs: 50 });
    await app.start();
    try {
      // Wall-clock punctuations fire whether or not input has arrived (as in Kafka Streams), so on a
      // busy machine the first ticks may come before the one input record is fetched and report 0.
      // Once it is processed, every later tick must report it, with no input arriving.
      const seenOne = (r: { value: string | null }[]): number => r.findIndex((t) => t.value === '1');
      const ticks = await readTopic(kafka, output, {
        until: (r) => seenOne(r) >= 0 && r.length >= seenOne(r) + 3,
      });
      const first = seenOne(ticks);
      expect(ticks.slice(0, first).every((t) => t.value === '0')).toBe(true);
      expect(ticks.slice(first, first + 3).map((r) => [r.key, r.value])).toEqual([
        ['"tick"', '1'],
        ['"tick"', '1'],
        ['"tick"', '1'],
      ]);
    } finally {
      await app.stop();
    }
  });

  it('restores a task whose input is quiet after a restart, so its wall-clock punctuations fire', async () => {
    const [input, output, appId] = ['quiet-in', 'quiet-out', 'quiet-app'].map(uniqueName) as [
      string,
      string,
      string,
    ];
    await createTopics(kafka, [
      { topic: input, partitions: 1 },
      { topic: output, partitions: 1 },
    ]);
    const builder = new TopologyBuilder();
    builder.addStateStore(keyValueStoreSpec('seen', { keySerde: stringSerde() }));
    builder
      .stream<string, number>('in', input)
      .process<string, string>(
        'reporter',
        () => {
          let store: KeyValueStore<string, number>;
          let instance = '';
          return {
            init: (ctx) => {
              store = ctx.keyValueStore<string, number>('seen');
              instance = String(Math.random());
              ctx.schedule(100, 'wall-clock', (now) => {
                const seen = store.get('count');
                if (seen === undefined) return;
                const value = `${instance}:${seen}`;
                ctx.forward({ key: 'report', value, timestamp: now, headers: {}, ...ctx.position() });
              });
            },
            process: () => store.put('count', (store.get('count') ?? 0) + 1),
          };
        },
        { stores: ['seen'] },
      )
      .to('out', output);
    await produce(kafka, input, [
      { key: '"k"', value: '1' },
      { key: '"k"', value: '2' },
    ]);
    const start = () => startApp(builder.build(), appId, { wallClockTickMs: 50 });
    // Which instances reported the count of 2 (values are JSON strings "<instance>:<count>").
    const reporters = (records: { value: string | null }[]) =>
      new Set(
        records
          .map((r) => JSON.parse(r.value ?? 'null') as string | null)
          .filter((v): v is string => v?.endsWith(':2') === true)
          .map((v) => v.split(':')[0]),
      );
    const first = start();
    await first.start();
    try {
      await readTopic(kafka, output, { until: (r) => reporters(r).size >= 1 });
    } finally {
      // A clean stop commits everything: the restarted instance has nothing to fetch.
      await first.stop();
    }
    const second = start();
    await second.start();
    try {
      // The second instance's task, restored from its changelog with no record fetched, reports too.
      const reports = await readTopic(kafka, output, { until: (r) => reporters(r).size >= 2 });
      expect(reporters(reports).size).toBe(2);
    } finally {
      await second.stop();
    }
  });

  it('keeps stream time across a restart: a record that was late before it is late after it', async () => {
    const [input, output, appId] = ['st-in', 'st-out', 'st-app'].map(uniqueName) as [string, string, string];
    await createTopics(kafka, [
      { topic: input, partitions: 1 },
      { topic: output, partitions: 1 },
    ]);
    const topology = (): Topology => {
      const builder = new TopologyBuilder();
      builder
        .stream<string, number>('in', input)
        .windowedBy(tumblingWindows({ sizeMs: 1_000, graceMs: 0 }))
        .count('per-second')
        .to('out', output);
      return builder.build();
    };
    const at = (timestamp: number) => ({ key: '"k"', value: '1', timestamp: String(timestamp) });
    const windowsOf = (records: { key: string | null; value: string | null }[]) =>
      records.map((r) => `${(JSON.parse(r.key!) as Windowed<string>).window.start}=${r.value}`);

    await produce(kafka, input, [at(500), at(1_500), at(2_500)]);
    const first = startApp(topology(), appId);
    await first.start();
    try {
      const emitted = await readTopic(kafka, output, { until: (r) => r.length >= 2 });
      expect(windowsOf(emitted)).toEqual(['0=1', '1000=1']);
    } finally {
      await first.stop();
    }

    await produce(kafka, input, [at(700), at(2_600), at(5_000)]);
    const second = startApp(topology(), appId);
    await second.start();
    try {
      const emitted = await readTopic(kafka, output, { until: (r) => r.length >= 3 });
      // [0,1000) is not reopened by the record at 700: it is late (stream time was 2500 before the restart).
      expect(windowsOf(emitted)).toEqual(['0=1', '1000=1', '2000=2']);
      const late = await readTopic(kafka, `${appId}-late`, { until: (r) => r.length >= 1 });
      expect(late.map((r) => r.timestamp)).toEqual([700]);
    } finally {
      await second.stop();
    }
  });

  it('refuses at start to join topics that are not co-partitioned', async () => {
    const [orders, payments, output, appId] = ['orders', 'payments', 'paid', 'copart-app'].map(
      uniqueName,
    ) as [string, string, string, string];
    await createTopics(kafka, [
      { topic: orders, partitions: 2 },
      { topic: payments, partitions: 3 },
    ]);
    const app = startApp(joinTopology(orders, payments, output), appId);
    await expect(app.start()).rejects.toThrow(CoPartitioningError);
    await app.stop();
  });

  it('sends poison records to the DLQ with headers naming the error and source, and the rest flows', async () => {
    const [input, output, appId] = ['in', 'out', 'dlq-app'].map(uniqueName) as [string, string, string];
    await createTopics(kafka, [
      { topic: input, partitions: 2 },
      { topic: output, partitions: 1 },
    ]);
    const builder = new TopologyBuilder();
    builder
      .stream<string, { n: number }>('in', input)
      .mapValues('check', (v) => {
        if (v.n === 13) throw new RangeError('13 is unlucky');
        return v.n * 2;
      })
      .to('out', output);
    const messages = Array.from({ length: 100 }, (_, i) => ({
      key: `"k${i}"`,
      value: JSON.stringify({ n: i }),
    }));
    messages[40] = { key: '"k40"', value: '{oops' };
    await produce(kafka, input, messages);
    const app = startApp(builder.build(), appId);
    await app.start();
    try {
      const out = await readTopic(kafka, output, { until: (r) => r.length >= 98 });
      expect(out).toHaveLength(98);
      expect(new Set(out.map((r) => Number(r.value)))).toEqual(
        new Set(
          Array.from({ length: 100 }, (_, i) => i)
            .filter((i) => i !== 13 && i !== 40)
            .map((i) => i * 2),
        ),
      );
      const dlq = await readTopic(kafka, `${appId}-dlq`, { until: (r) => r.length >= 2 });
      const byType = new Map(dlq.map((r) => [r.headers[HEADER.errorType], r]));
      expect(byType.get('RangeError')).toMatchObject({
        value: JSON.stringify({ n: 13 }),
        headers: expect.objectContaining({ [HEADER.error]: '13 is unlucky', [HEADER.sourceTopic]: input }),
      });
      expect(byType.get('DeserializationError')?.value).toBe('{oops');
      for (const r of dlq) {
        expect(Number(r.headers[HEADER.sourcePartition])).toBeGreaterThanOrEqual(0);
        expect(Number(r.headers[HEADER.sourceOffset])).toBeGreaterThanOrEqual(0);
      }
      const metrics = await app.metrics.dlqRecords.get();
      expect(metrics.values.reduce((sum, v) => sum + v.value, 0)).toBe(2);
    } finally {
      await app.stop();
    }
  });
});
