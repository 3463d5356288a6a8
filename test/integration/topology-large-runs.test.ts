import { Partitioners, type Kafka } from 'kafkajs';
import { HEADER, TopologyBuilder, type ProcessorContext } from '../../topology';
import { keyValueStoreSpec } from '../../topology/state/key-value-store';
import { changelogTopicName } from '../../topology/state/store';
import { ProducedRecordTooLargeError } from '../../topology/runtime/kafka-errors';
import type { ProcessingGuarantee } from '../../topology/runtime/options';
import { StreamsApp } from '../../topology/runtime/streams-app';
import {
  committedOffset,
  createTopics,
  readTopic,
  testAppOptions,
  testKafka,
  uniqueName,
} from '../support/topology-kafka';
import { waitFor } from '../support/wait-for';

jest.setTimeout(240_000);

interface Big {
  id: number;
  group: string;
  pad: string;
}

const RECORDS = 120;
const PAD = 25_000; // 120 x 25 KB = 3 MB per run and partition: over the broker's 1 MiB limit

/** Produced a few records per request, so the input itself stays under the broker's limit. */
async function produceBig(kafka: Kafka, topic: string, values: Big[]): Promise<void> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    for (let i = 0; i < values.length; i += 10) {
      await producer.send({
        topic,
        acks: -1,
        messages: values
          .slice(i, i + 10)
          .map((v) => ({ key: JSON.stringify(`r${v.id}`), value: JSON.stringify(v) })),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

/**
 * in -> selectKey(group) -> repartition -> process (store: last value per id, and per group)
 * -> out. Every record is ~25 KB, all of one group: one partition gets the whole backlog.
 */
function largeTopology(input: string, output: string) {
  const builder = new TopologyBuilder();
  builder.addStateStore(keyValueStoreSpec<string, Big>('big-state'));
  builder
    .stream<string, Big>('in', input)
    .selectKey('by-group', (r) => r.value.group)
    .repartition('big-by-group')
    .process<string, Big>(
      'remember',
      () => {
        let context: ProcessorContext<string, Big> | undefined;
        return {
          init: (c) => void (context = c),
          process: (record) => {
            const ctx = context as ProcessorContext<string, Big>;
            const store = ctx.keyValueStore<string, Big>('big-state');
            store.put(`id-${record.value.id}`, record.value);
            store.put(`group-${record.key}`, record.value); // same key every record: cached
            ctx.forward(record);
          },
        };
      },
      { stores: ['big-state'] },
    )
    .to('out', output);
  return builder.build();
}

describe.each<ProcessingGuarantee>(['exactly_once', 'at_least_once'])(
  'topology runtime (%s): runs whose outputs exceed the broker limit',
  (guarantee) => {
    it('commits a > 2 MiB run to one partition, every input reflected once in the output', async () => {
      const kafka = testKafka();
      const [input, output, appId] = ['large-in', 'large-out', 'large-app'].map(uniqueName) as [
        string,
        string,
        string,
      ];
      await createTopics(kafka, [
        { topic: input, partitions: 1 },
        { topic: output, partitions: 1 },
      ]);
      const values = Array.from({ length: RECORDS }, (_, id) => ({ id, group: 'g', pad: 'x'.repeat(PAD) }));
      // The whole backlog is there before the app starts: one fetch, one run.
      await produceBig(kafka, input, values);
      const app = new StreamsApp(
        largeTopology(input, output),
        testAppOptions(appId, {
          processingGuarantee: guarantee,
          maxFetchBytesPerPartition: 8 * 1024 * 1024,
          maxInFlightBytes: 16 * 1024 * 1024,
        }),
      );
      await app.start();
      try {
        await waitFor(
          'the input offsets to be committed',
          async () => (await committedOffset(kafka, appId, input)) === RECORDS,
          120_000,
        );
        const out = await readTopic(kafka, output, { until: (r) => r.length >= RECORDS });
        const perId = new Map<number, number>();
        for (const r of out) {
          const id = (JSON.parse(r.value as string) as Big).id;
          perId.set(id, (perId.get(id) ?? 0) + 1);
        }
        expect(out).toHaveLength(RECORDS);
        expect([...perId.keys()].sort((a, b) => a - b)).toEqual(values.map((v) => v.id));
        expect([...perId.values()].every((n) => n === 1)).toBe(true);

        // The changelog carries every id once and the per-group key once per run, not once per put.
        const changelog = await readTopic(kafka, changelogTopicName(appId, 'big-state'), {
          until: (r) => r.length >= RECORDS + 1,
        });
        const keys = changelog.map((r) => JSON.parse(r.key as string) as string);
        expect(new Set(keys.filter((k) => k.startsWith('id-'))).size).toBe(RECORDS);
        expect(keys.filter((k) => k.startsWith('id-'))).toHaveLength(RECORDS);
        const groupChanges = keys.filter((k) => k === 'group-g').length;
        expect(groupChanges).toBeGreaterThanOrEqual(1);
        expect(groupChanges).toBeLessThan(RECORDS / 4);
      } finally {
        await app.stop();
      }
    });
  },
);

describe('topology runtime: an output record over the broker limit', () => {
  const inflating = (input: string, output: string, bytes: number) => {
    const builder = new TopologyBuilder();
    builder
      .stream<string, string>('in', input)
      .mapValues('inflate', (v) => (v === 'big' ? v.repeat(bytes / 3) : v))
      .to('out', output);
    return builder.build();
  };
  const produceInput = async (kafka: Kafka, input: string, values: string[]) => {
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({
      topic: input,
      acks: -1,
      messages: values.map((value, i) => ({ key: `"k${i}"`, value: JSON.stringify(value) })),
    });
    await producer.disconnect();
  };

  it('dead-letters an output over maxRecordBytes by reference to its input and goes on', async () => {
    const kafka = testKafka();
    const [input, output, appId] = ['huge-in', 'huge-out', 'huge-app'].map(uniqueName) as [
      string,
      string,
      string,
    ];
    await createTopics(kafka, [
      { topic: input, partitions: 1 },
      { topic: output, partitions: 1 },
    ]);
    await produceInput(kafka, input, ['before', 'big', 'after']);
    const app = new StreamsApp(inflating(input, output, 2 * 1024 * 1024), testAppOptions(appId));
    await app.start();
    try {
      const outputs = await readTopic(kafka, output, { until: (r) => r.length >= 2 });
      expect(outputs.map((r) => r.value)).toEqual(['"before"', '"after"']);
      const [letter, ...more] = await readTopic(kafka, `${appId}-dlq`, { until: (r) => r.length >= 1 });
      expect(more).toHaveLength(0);
      expect(letter?.value).toBe('"big"');
      expect(letter?.headers[HEADER.errorType]).toBe('RecordTooLargeError');
      expect(letter?.headers[HEADER.error]).toContain(output);
      expect(letter?.headers[HEADER.sourceOffset]).toBe('1');
      await waitFor(
        'the input to be committed',
        async () => (await committedOffset(kafka, appId, input)) === 3,
      );
    } finally {
      await app.stop();
    }
  });

  it('fails the application with a typed error naming the topic when the broker refuses a record under maxRecordBytes', async () => {
    const kafka = testKafka();
    const [input, output, appId] = ['small-limit-in', 'small-limit-out', 'small-limit-app'].map(
      uniqueName,
    ) as [string, string, string];
    await createTopics(kafka, [
      { topic: input, partitions: 1 },
      // A topic whose limit is below the runtime's record bound: only the broker can tell.
      { topic: output, partitions: 1, config: { 'max.message.bytes': '100000' } },
    ]);
    await produceInput(kafka, input, ['big']);
    const app = new StreamsApp(inflating(input, output, 500_000), testAppOptions(appId));
    await app.start();
    try {
      const error = await app.done.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ProducedRecordTooLargeError);
      expect((error as Error).message).toContain(output);
      expect(await committedOffset(kafka, appId, input)).toBe(-1);
    } finally {
      await app.stop();
    }
  });
});
