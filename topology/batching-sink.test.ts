import { BatchingSink, itemsBetween, type BufferedItem, type SinkBatches } from './batching-sink';
import { TopologyBuilder } from './dsl/topology-builder';
import { SinkBufferFullError, TopologyDefinitionError } from './errors';
import { stringSerde } from './serde';
import { TopologyTestDriver } from './testing/topology-test-driver';
import type { SourceRange, StreamRecord } from './processor/record';

/**
 * Maps a record's value to its items (a comma-separated list, '' for none, 'boom' throws) and keeps
 * what it was handed per flush; `failures` makes the next writes throw, as an external system that
 * is down would.
 */
class RecordingSink extends BatchingSink<unknown, string, string> {
  readonly written: SinkBatches<string>[] = [];
  failures = 0;
  attempts = 0;

  constructor(maxBufferedItems = 100) {
    super({ name: 'recording', maxBufferedItems, itemsName: 'letters' });
  }

  protected toItems(record: StreamRecord<unknown, string>): readonly string[] {
    if (record.value === 'boom') throw new Error('cannot map boom');
    return record.value === '' ? [] : record.value.split(',');
  }

  protected async writeBatches(batches: SinkBatches<string>): Promise<void> {
    this.attempts += 1;
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error('down');
    }
    this.written.push(batches);
  }
}

const write = (sink: RecordingSink, topic: string, partition: number, offset: number, value: string) =>
  sink.write(
    { key: null, value, timestamp: 0, headers: {}, topic, partition, offset: String(offset) },
    { topic, partition, offset: String(offset) },
  );

/** Writes `[offset, value]` records of one partition in the order given. */
const writeEach = (sink: RecordingSink, topic: string, partition: number, records: [number, string][]) => {
  for (const [offset, value] of records) write(sink, topic, partition, offset, value);
};

const range = (topic: string, partition: number, first: number, last: number): SourceRange => ({
  topic,
  partition,
  firstOffset: String(first),
  lastOffset: String(last),
});

/** A batch as `[offset, item]` pairs, easier to read in expectations. */
const pairs = (items: readonly BufferedItem<string>[]) =>
  items.map(({ offset, item }) => [Number(offset), item]);

describe('BatchingSink', () => {
  it('groups the buffer by range over several partitions and ranges, in offset order', async () => {
    const sink = new RecordingSink();
    write(sink, 'a', 0, 1, 'a1');
    write(sink, 'b', 0, 7, 'b7');
    write(sink, 'a', 1, 5, 'x5,y5'); // partition 1 of a: two items from one record
    write(sink, 'a', 0, 2, 'a2');
    write(sink, 'a', 0, 4, 'a4');
    write(sink, 'a', 0, 6, 'a6');
    write(sink, 'a', 1, 6, 'x6');
    expect(sink.bufferedItems).toBe(8);

    // Two ranges on a/0, given out of order; a/1 and b/0 one each.
    await sink.flush([
      range('a', 0, 4, 6),
      range('b', 0, 7, 9),
      range('a', 1, 5, 6),
      range('a', 0, 0, 2),
      range('c', 0, 0, 3), // nothing buffered for it: no batch
    ]);

    expect(sink.written).toHaveLength(1);
    const [{ ranged, unranged }] = sink.written as [SinkBatches<string>];
    expect(
      ranged.map(({ range: r, items }) => [
        `${r.topic}/${r.partition} ${r.firstOffset}-${r.lastOffset}`,
        pairs(items),
      ]),
    ).toEqual([
      [
        'a/0 0-2',
        [
          [1, 'a1'],
          [2, 'a2'],
        ],
      ],
      [
        'a/0 4-6',
        [
          [4, 'a4'],
          [6, 'a6'],
        ],
      ],
      ['b/0 7-9', [[7, 'b7']]],
      [
        'a/1 5-6',
        [
          [5, 'x5'],
          [5, 'y5'],
          [6, 'x6'],
        ],
      ],
    ]);
    expect(unranged).toEqual([]);
    expect(sink.bufferedItems).toBe(0);
  });

  it('hands items outside every range as unranged, per partition', async () => {
    const sink = new RecordingSink();
    writeEach(sink, 'a', 0, [
      [1, 'before'],
      [3, 'in'],
      [5, 'between'],
      [7, 'in2'],
      [9, 'after'],
    ]);
    write(sink, 'a', 2, 0, 'no-range');

    await sink.flush([range('a', 0, 2, 4), range('a', 0, 6, 8)]);

    const [{ ranged, unranged }] = sink.written as [SinkBatches<string>];
    expect(ranged.map(({ items }) => pairs(items))).toEqual([[[3, 'in']], [[7, 'in2']]]);
    expect(unranged.map(({ topic, partition, items }) => [topic, partition, pairs(items)])).toEqual([
      [
        'a',
        0,
        [
          [1, 'before'],
          [5, 'between'],
          [9, 'after'],
        ],
      ],
      ['a', 2, [[0, 'no-range']]],
    ]);
  });

  it('keeps a partition in offset order when a write comes out of order', async () => {
    const sink = new RecordingSink();
    writeEach(sink, 'a', 0, [
      [3, 'c'],
      [5, 'e'],
      [4, 'd'],
      [3, 'c2'],
    ]);
    await sink.flush([range('a', 0, 0, 9)]);
    expect(pairs((sink.written[0] as SinkBatches<string>).ranged[0]!.items)).toEqual([
      [3, 'c'],
      [3, 'c2'],
      [4, 'd'],
      [5, 'e'],
    ]);
  });

  it('refuses a write past its bound with SinkBufferFullError naming what it counts, keeping the rest', async () => {
    const sink = new RecordingSink(3);
    write(sink, 'a', 0, 0, 'x,y');
    expect(() => write(sink, 'a', 0, 1, 'z,w')).toThrow(SinkBufferFullError);
    expect(() => write(sink, 'a', 0, 1, 'z,w')).toThrow(
      'recording: 2 letters buffered, bound 3; cannot add 2 before a flush',
    );
    write(sink, 'a', 0, 2, 'z'); // exactly at the bound
    expect(sink.bufferedItems).toBe(3);
    await sink.flush([range('a', 0, 0, 2)]);
    expect(pairs((sink.written[0] as SinkBatches<string>).ranged[0]!.items)).toEqual([
      [0, 'x'],
      [0, 'y'],
      [2, 'z'],
    ]);
  });

  it('rejects a record whose mapping throws at write, buffering nothing of it', async () => {
    const sink = new RecordingSink();
    write(sink, 'a', 0, 0, 'ok');
    expect(() => write(sink, 'a', 0, 1, 'boom')).toThrow('cannot map boom');
    write(sink, 'a', 0, 2, ''); // no items: nothing buffered
    expect(sink.bufferedItems).toBe(1);
  });

  it('keeps the buffer when the write fails, and the retried flush writes it once', async () => {
    const sink = new RecordingSink();
    write(sink, 'a', 0, 0, 'p');
    write(sink, 'a', 0, 1, 'q');
    sink.failures = 1;

    await expect(sink.flush([range('a', 0, 0, 1)])).rejects.toThrow('down');
    expect(sink.bufferedItems).toBe(2);

    await sink.flush([range('a', 0, 0, 1)]);
    await sink.flush([range('a', 0, 0, 1)]); // nothing left: no write at all
    expect(sink.attempts).toBe(2);
    expect(sink.written.map((b) => b.ranged.map(({ items }) => pairs(items)))).toEqual([
      [
        [
          [0, 'p'],
          [1, 'q'],
        ],
      ],
    ]);
    expect(sink.bufferedItems).toBe(0);
  });

  it('forgets the buffer on discard', async () => {
    const sink = new RecordingSink();
    write(sink, 'a', 0, 0, 'p');
    sink.discard();
    expect(sink.bufferedItems).toBe(0);
    await sink.flush([range('a', 0, 0, 0)]);
    expect(sink.attempts).toBe(0);
    write(sink, 'a', 0, 0, 'again');
    await sink.flush([range('a', 0, 0, 0)]);
    expect(sink.written.map((b) => b.ranged.map(({ items }) => pairs(items)))).toEqual([[[[0, 'again']]]]);
  });

  it('refuses a bound that is not a positive integer', () => {
    expect(() => new RecordingSink(0)).toThrow(TopologyDefinitionError);
    expect(() => new RecordingSink(Number.NaN)).toThrow(TopologyDefinitionError);
  });
});

describe('itemsBetween', () => {
  const items: BufferedItem<string>[] = [1, 3, 3, 5, 8].map((o, i) => ({ offset: BigInt(o), item: `i${i}` }));

  it('returns the items from first to last inclusive', () => {
    expect(pairs(itemsBetween(items, 3n, 5n))).toEqual([
      [3, 'i1'],
      [3, 'i2'],
      [5, 'i3'],
    ]);
    expect(pairs(itemsBetween(items, 0n, 100n))).toHaveLength(5);
    expect(itemsBetween(items, 6n, 7n)).toEqual([]);
    expect(pairs(itemsBetween(items, 8n, 8n))).toEqual([[8, 'i4']]);
  });
});

describe('BatchingSink in a topology', () => {
  it('dead-letters a record whose items cannot be made (mapped while it is processed) and writes the others', async () => {
    const sink = new RecordingSink();
    const builder = new TopologyBuilder();
    builder
      .stream<string, string>('src', 'in', { keySerde: stringSerde(), valueSerde: stringSerde() })
      .toSink('to-sink', sink);
    const driver = new TopologyTestDriver(builder.build(), { applicationId: 'app' });
    const input = driver.createInputTopic('in', { keySerde: stringSerde(), valueSerde: stringSerde() });
    const dlq = driver.createOutputTopic(driver.dlqTopic, {
      keySerde: stringSerde(),
      valueSerde: stringSerde(),
    });
    input.pipe('k', 'x', 1);
    input.pipe('k', 'boom', 2);
    input.pipe('k', 'y,z', 3);
    await driver.commit();
    expect(dlq.readRecords().map((r) => r.value)).toEqual(['boom']);
    expect(sink.written.flatMap((b) => b.ranged.flatMap((r) => r.items.map((i) => i.item)))).toEqual([
      'x',
      'y',
      'z',
    ]);
    driver.close();
  });
});
