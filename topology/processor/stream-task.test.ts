import { TopologyBuilder } from '../dsl/topology-builder';
import { stringSerde } from '../serde';
import { keyValueStoreSpec } from '../state/key-value-store';
import { TopologyTestDriver } from '../testing/topology-test-driver';
import { RecordHandlingFailedError } from '../errors';
import { Registry } from 'prom-client';
import { TopologyMetrics } from '../metrics';
import type { ExceptionPolicies } from './exception-policy';
import type { Processor, ProcessorContext } from './processor';
import { HEADER, type StreamRecord } from './record';

/** Counts per key in a key-value store and emits the totals on punctuation. */
class CountingProcessor implements Processor<string, string, string, number> {
  private context!: ProcessorContext<string, number>;

  constructor(private readonly type: 'stream-time' | 'wall-clock') {}

  init(context: ProcessorContext<string, number>): void {
    this.context = context;
    context.schedule(10, this.type, (time) => {
      for (const [key, value] of context.keyValueStore<string, number>('counts').entries()) {
        context.forward({ key, value, timestamp: time, headers: {}, ...context.position() });
      }
    });
  }

  process(record: StreamRecord<string, string>): void {
    if (record.value === 'boom') throw new Error('cannot handle boom');
    const store = this.context.keyValueStore<string, number>('counts');
    store.put(record.key, (store.get(record.key) ?? 0) + 1);
  }
}

const str = stringSerde();

function processorDriver(
  type: 'stream-time' | 'wall-clock',
  maxEntries = 100,
  exceptionPolicies?: ExceptionPolicies,
) {
  const builder = new TopologyBuilder();
  builder.addStateStore(keyValueStoreSpec<string, number>('counts', { maxEntries }));
  builder
    .stream<string, string>('src', 'in', { keySerde: str, valueSerde: str })
    .process('count', () => new CountingProcessor(type), { stores: ['counts'] })
    .to('out', 'out');
  const driver = new TopologyTestDriver(builder.build(), {
    applicationId: 'app',
    initialWallClockMs: 1000,
    exceptionPolicies,
  });
  return {
    driver,
    input: driver.createInputTopic('in', { keySerde: stringSerde(), valueSerde: stringSerde() }),
    output: driver.createOutputTopic<string, number>('out'),
    dlq: driver.createOutputTopic(driver.dlqTopic, { keySerde: stringSerde(), valueSerde: stringSerde() }),
  };
}

describe('StreamTask: punctuation, DLQ, stores', () => {
  it('stream-time punctuation fires at the first record, then once per interval of stream time (skips collapse)', () => {
    const { driver, input, output } = processorDriver('stream-time');
    input.pipe('a', 'x', 100); // first record: fires at 100 (the store is updated before)
    expect(output.readRecords().map((r) => [r.key, r.value, r.timestamp])).toEqual([['a', 1, 100]]);
    input.pipe('a', 'x', 105);
    input.pipe('a', 'x', 95); // stream time stays 105
    expect(output.isEmpty()).toBe(true);
    input.pipe('b', 'x', 110); // 110 >= 100 + 10
    expect(output.readRecords().map((r) => [r.key, r.value, r.timestamp])).toEqual([
      ['a', 3, 110],
      ['b', 1, 110],
    ]);
    input.pipe('b', 'x', 500); // jumps many intervals: fires once, next at 510
    expect(output.readRecords()).toHaveLength(2);
    input.pipe('b', 'x', 509);
    expect(output.isEmpty()).toBe(true);
    input.pipe('b', 'x', 510);
    expect(output.readRecords()).toHaveLength(2);
    driver.close();
  });

  it('wall-clock punctuation fires when the driver advances the clock, not with records', () => {
    const { driver, input, output } = processorDriver('wall-clock');
    input.pipe('a', 'x', 1_000_000);
    expect(output.isEmpty()).toBe(true);
    driver.advanceWallClockTime(9);
    expect(output.isEmpty()).toBe(true);
    driver.advanceWallClockTime(1);
    expect(output.readRecords().map((r) => [r.key, r.value, r.timestamp])).toEqual([['a', 1, 1010]]);
    driver.advanceWallClockTime(25); // 1035 >= 1020: fires once, re-anchored at 1045
    expect(output.readRecords()).toHaveLength(1);
    driver.advanceWallClockTime(9);
    expect(output.isEmpty()).toBe(true);
    driver.advanceWallClockTime(1);
    expect(output.readRecords()).toHaveLength(1);
    driver.close();
  });

  it('a processing error sends the record to the DLQ with headers, keeps the state and goes on', () => {
    const { driver, input, dlq } = processorDriver('stream-time');
    input.pipe('a', 'x', 1, { origin: 'test' });
    input.pipe('a', 'boom', 2);
    input.pipe('a', 'x', 3);
    const dead = dlq.readRecords();
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ key: 'a', value: 'boom', timestamp: 2 });
    expect(dead[0]!.headers).toMatchObject({
      [HEADER.error]: 'cannot handle boom',
      [HEADER.errorType]: 'Error',
      [HEADER.sourceTopic]: 'in',
      [HEADER.sourcePartition]: '0',
      [HEADER.sourceOffset]: '1',
    });
    expect(driver.keyValueStore<string, number>('counts').get('a')).toBe(2);
    driver.close();
  });

  it('under the `continue` processing policy a failing record is dropped and counted, nothing dead-lettered', async () => {
    const registry = new Registry();
    const builder = new TopologyBuilder();
    builder.addStateStore(keyValueStoreSpec<string, number>('counts', { maxEntries: 100 }));
    builder
      .stream<string, string>('src', 'in', { keySerde: str, valueSerde: str })
      .process('count', () => new CountingProcessor('stream-time'), { stores: ['counts'] })
      .to('out', 'out');
    const driver = new TopologyTestDriver(builder.build(), {
      applicationId: 'app',
      metrics: new TopologyMetrics(registry, 'app'),
      exceptionPolicies: { deserialization: 'dead-letter', processing: 'continue' },
    });
    const input = driver.createInputTopic('in', { keySerde: str, valueSerde: str });
    input.pipe('a', 'x', 1);
    input.pipe('a', 'boom', 2);
    input.pipe('a', 'x', 3);
    expect(driver.produced(driver.dlqTopic)).toHaveLength(0);
    expect(driver.keyValueStore<string, number>('counts').get('a')).toBe(2);
    const dropped = (await registry.getSingleMetric('stacklens_topology_dropped_records_total')?.get())
      ?.values;
    expect(dropped).toEqual([
      expect.objectContaining({ value: 1, labels: { application: 'app', error: 'Error' } }),
    ]);
    driver.close();
  });

  it('under the `fail` processing policy a failing record throws a typed error naming it, and nothing of it is sent', () => {
    const { driver, input, dlq } = processorDriver('stream-time', 100, {
      deserialization: 'dead-letter',
      processing: 'fail',
    });
    input.pipe('a', 'x', 1);
    expect(() => input.pipe('a', 'boom', 2)).toThrow(RecordHandlingFailedError);
    expect(() => input.pipe('b', 'boom', 3)).toThrow(/processing of in-0@2 failed: cannot handle boom/);
    expect(dlq.readRecords()).toHaveLength(0);
    driver.close();
  });

  it('under the `fail` deserialization policy bytes that are not a value throw, and nothing is dead-lettered', () => {
    const builder = new TopologyBuilder();
    builder.stream<string, { n: number }>('src', 'json-in').to('out', 'out');
    const driver = new TopologyTestDriver(builder.build(), {
      exceptionPolicies: { deserialization: 'fail', processing: 'dead-letter' },
    });
    expect(() =>
      driver.pipeRaw({
        topic: 'json-in',
        key: Buffer.from('"k"'),
        value: Buffer.from('{not json'),
        timestamp: 5,
      }),
    ).toThrow(/deserialization of json-in-0@0 failed/);
    expect(driver.produced(driver.dlqTopic)).toHaveLength(0);
    driver.close();
  });

  it('a wall-clock punctuation that throws under the `fail` policy throws; under the default it is reported', () => {
    const throwing = (exceptionPolicies?: ExceptionPolicies) => {
      const builder = new TopologyBuilder();
      builder
        .stream<string, string>('src', 'in', { keySerde: str, valueSerde: str })
        .process<string, string>('tick', () => ({
          init: (context) =>
            context.schedule(10, 'wall-clock', () => {
              throw new Error('tick failed');
            }),
          process: () => undefined,
        }))
        .to('out', 'out');
      const driver = new TopologyTestDriver(builder.build(), { exceptionPolicies });
      driver.createInputTopic('in', { keySerde: str, valueSerde: str }).pipe('a', 'x', 1);
      return driver;
    };
    const failing = throwing({ deserialization: 'dead-letter', processing: 'fail' });
    expect(() => failing.advanceWallClockTime(20)).toThrow(/wall-clock punctuation .* failed: tick failed/);
    failing.close();
    const reporting = throwing();
    expect(() => reporting.advanceWallClockTime(20)).not.toThrow();
    reporting.close();
  });

  it('a record that cannot be deserialized goes to the DLQ untouched', () => {
    const builder = new TopologyBuilder();
    builder.stream<string, { n: number }>('src', 'json-in').to('out', 'out');
    const driver = new TopologyTestDriver(builder.build());
    driver.pipeRaw({
      topic: 'json-in',
      key: Buffer.from('"k"'),
      value: Buffer.from('{not json'),
      timestamp: 5,
    });
    driver.pipeRaw({
      topic: 'json-in',
      key: Buffer.from('"k"'),
      value: Buffer.from('{"n":1}'),
      timestamp: 6,
    });
    const dead = driver.produced(driver.dlqTopic);
    expect(dead).toHaveLength(1);
    expect(dead[0]!.value?.toString()).toBe('{not json');
    expect(dead[0]!.headers[HEADER.errorType]).toBe('DeserializationError');
    expect(driver.createOutputTopic('out').readKeyValues()).toEqual([{ key: 'k', value: { n: 1 } }]);
    driver.close();
  });

  it('an invalid event timestamp is a deserialization error', () => {
    const builder = new TopologyBuilder();
    builder
      .stream<string, { at: number }>('src', 'in', { timestampExtractor: ({ value }) => value.at })
      .to('out', 'out');
    const driver = new TopologyTestDriver(builder.build());
    const input = driver.createInputTopic<string, { at: number }>('in');
    input.pipe('k', { at: -5 }, 0);
    input.pipe('k', { at: 42 }, 0);
    expect(driver.produced(driver.dlqTopic)).toHaveLength(1);
    expect(
      driver
        .createOutputTopic('out')
        .readRecords()
        .map((r) => r.timestamp),
    ).toEqual([42]);
    driver.close();
  });

  it('a full store rejects the put: the record goes to the DLQ, the store stays at its bound', () => {
    const { driver, input, dlq } = processorDriver('stream-time', 2);
    input.pipe('a', 'x', 1);
    input.pipe('b', 'x', 1);
    input.pipe('c', 'x', 1);
    input.pipe('a', 'x', 1); // existing key: fine
    expect(dlq.readRecords().map((r) => [r.key, r.headers[HEADER.errorType]])).toEqual([
      ['c', 'StateStoreFullError'],
    ]);
    expect(driver.keyValueStore('counts').size()).toBe(2);
    driver.close();
  });

  it('a processor touching a store it did not declare fails at the first record', () => {
    const builder = new TopologyBuilder();
    builder.addStateStore(keyValueStoreSpec('s'));
    builder
      .stream<string, string>('src2', 'in2')
      .process<string, string>(
        'bad',
        () => {
          let ctx!: ProcessorContext<string, string>;
          return {
            init: (c) => void (ctx = c),
            process: () => void ctx.keyValueStore('s'),
          };
        },
        { stores: [] },
      )
      .to('out2', 'out2');
    const driver = new TopologyTestDriver(builder.build());
    driver.createInputTopic<string, string>('in2').pipe('k', 'v', 0);
    expect(driver.produced(driver.dlqTopic)[0]!.headers[HEADER.error]).toMatch(/did not declare store s/);
    driver.close();
  });

  it('dead-letters an output over the record size limit by reference, and goes on', () => {
    const builder = new TopologyBuilder();
    builder
      .stream<string, string>('src', 'in', { keySerde: str, valueSerde: str })
      .mapValues('blow-up', (v) => (v === 'big' ? 'x'.repeat(5_000) : v))
      .to('out', 'out', { keySerde: str, valueSerde: str });
    const driver = new TopologyTestDriver(builder.build(), { applicationId: 'app', maxRecordBytes: 1_000 });
    const input = driver.createInputTopic('in', { keySerde: str, valueSerde: str });
    input.pipe('a', 'small', 1);
    input.pipe('b', 'big', 2);
    input.pipe('c', 'after', 3);
    const out = driver.createOutputTopic('out', { keySerde: str, valueSerde: str });
    expect(out.readKeyValues()).toEqual([
      { key: 'a', value: 'small' },
      { key: 'c', value: 'after' },
    ]);
    const [letter, ...more] = driver
      .createOutputTopic(driver.dlqTopic, { keySerde: str, valueSerde: str })
      .readRecords();
    expect(more).toHaveLength(0);
    // The input was small: the dead letter holds it, and says which output did not fit.
    expect(letter?.value).toBe('big');
    expect(letter?.headers[HEADER.errorType]).toBe('RecordTooLargeError');
    expect(letter?.headers[HEADER.error]).toMatch(
      /output to out of ~\d+ bytes is over the 1000-byte record limit/,
    );
    expect(letter?.headers[HEADER.sourceOffset]).toBe('1');
  });

  it('dead-letters an input too large to copy by reference: no key or value, its size in a header', () => {
    const builder = new TopologyBuilder();
    builder
      .stream<string, string>('src', 'in', { keySerde: str, valueSerde: str })
      .mapValues<string>('fail', () => {
        throw new Error('cannot process');
      })
      .to('out', 'out', { keySerde: str, valueSerde: str });
    const driver = new TopologyTestDriver(builder.build(), { applicationId: 'app', maxRecordBytes: 1_000 });
    driver.createInputTopic('in', { keySerde: str, valueSerde: str }).pipe('k', 'y'.repeat(2_000), 1);
    const [letter] = driver.produced(driver.dlqTopic);
    expect(letter?.value).toBeNull();
    expect(letter?.key).toBeNull();
    expect(letter?.headers[HEADER.droppedValueBytes]).toBe('2000');
    expect(letter?.headers[HEADER.sourceTopic]).toBe('in');
    expect(letter?.headers[HEADER.error]).toBe('cannot process');
  });
});
