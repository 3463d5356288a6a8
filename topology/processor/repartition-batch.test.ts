import { DeserializationError } from '../errors';
import { decodeRepartitionBatch, RepartitionBatcher, REPARTITION_BATCH_VERSION } from './repartition-batch';

const item = (key: string | null, value: string | null, timestamp: number, headers = {}) => ({
  key: key === null ? null : Buffer.from(key),
  value: value === null ? null : Buffer.from(value),
  timestamp,
  headers,
});

describe('RepartitionBatcher', () => {
  it('makes one record per topic and partition holding its items in order, which decode back', () => {
    const batcher = new RepartitionBatcher();
    const items = [
      item('a', 'v1', 5, { traceparent: '00-ab', é: 'ü' }),
      item(null, null, 3),
      item('c', '', 9),
    ];
    batcher.add('t', 1, items[0]!);
    batcher.add('u', 0, item('x', 'y', 1));
    batcher.add('t', 1, items[1]!);
    batcher.add('t', 1, items[2]!);
    const records = batcher.drain();
    expect(records.map((r) => [r.topic, r.partition, r.key, r.timestamp])).toEqual([
      ['t', 1, null, 9],
      ['u', 0, null, 1],
    ]);
    expect(records[0]!.value![0]).toBe(REPARTITION_BATCH_VERSION);
    expect(decodeRepartitionBatch(records[0]!.value)).toEqual(items);
    expect(batcher.drain()).toEqual([]);
  });

  it('starts a new record for a partition once a batch reaches its byte bound', () => {
    const batcher = new RepartitionBatcher(100);
    for (let i = 0; i < 10; i += 1) batcher.add('t', 0, item(`k${i}`, 'x'.repeat(30), i));
    const records = batcher.drain();
    expect(records.length).toBeGreaterThan(3);
    for (const r of records) expect(r.value!.length).toBeLessThanOrEqual(100);
    expect(records.flatMap((r) => decodeRepartitionBatch(r.value).map((i) => i.timestamp))).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
    ]);
  });
});

describe('decodeRepartitionBatch', () => {
  const batcher = new RepartitionBatcher();
  batcher.add('t', 0, item('key', 'value', 1, { h: 'v' }));
  const bytes = batcher.drain()[0]!.value!;

  it.each([
    ['empty', Buffer.alloc(0), /empty value/],
    ['null', null, /empty value/],
    ['an older JSON record', Buffer.from('{"a":1}'), /format version 123 \(JSON/],
    ['truncated', bytes.subarray(0, bytes.length - 2), /truncated/],
    ['a huge length', Buffer.from([REPARTITION_BATCH_VERSION, 0xfe, 0xff, 0xff, 0xff]), /truncated/],
  ])('refuses %s with a DeserializationError', (_what, data, message) => {
    expect(() => decodeRepartitionBatch(data)).toThrow(DeserializationError);
    expect(() => decodeRepartitionBatch(data)).toThrow(message);
  });
});
