import type { ProducedRecord } from '../processor/record';
import { boundedSends } from './bounded-sends';
import { producedBytes } from '../processor/record';

function record(
  topic: string,
  partition: number | undefined,
  valueBytes: number,
  id: number,
): ProducedRecord {
  return {
    topic,
    partition,
    key: Buffer.from(String(id)),
    value: Buffer.alloc(valueBytes),
    timestamp: 0,
    headers: {},
  };
}

function partitionTotals(send: readonly ProducedRecord[]): number[] {
  const totals = new Map<string, number>();
  for (const r of send) {
    const id = `${r.topic}/${r.partition}`;
    totals.set(id, (totals.get(id) ?? 0) + producedBytes(r));
  }
  return [...totals.values()];
}

describe('boundedSends', () => {
  it('cuts a run into sends whose per-partition bytes stay within the bound, keeping order', () => {
    const records = Array.from({ length: 100 }, (_, i) => record('t', i % 2, 1_000, i));
    const sends = boundedSends(records, 10_000);
    expect(sends.flat()).toEqual(records);
    expect(sends.length).toBeGreaterThan(1);
    for (const send of sends)
      for (const total of partitionTotals(send)) expect(total).toBeLessThanOrEqual(10_000);
    // Two partitions share a send: about twice the bound per send, not one partition's worth.
    expect(sends[0]!.length).toBeGreaterThanOrEqual(16);
  });

  it('keeps everything in one send when it fits', () => {
    const records = [record('a', 0, 10, 1), record('b', 3, 10, 2), record('a', undefined, 10, 3)];
    expect(boundedSends(records, 10_000)).toEqual([records]);
    expect(boundedSends([], 10_000)).toEqual([]);
  });

  it('counts unpartitioned records against every partition of their topic', () => {
    const loose = record('t', undefined, 600, 1);
    const pinned = record('t', 5, 600, 2);
    const other = record('u', 5, 600, 3);
    expect(boundedSends([loose, pinned, other], 1_000)).toEqual([[loose], [pinned, other]]);
  });

  it('sends a record larger than the bound alone', () => {
    const small = record('t', 0, 10, 1);
    const huge = record('t', 0, 5_000, 2);
    const after = record('t', 0, 10, 3);
    expect(boundedSends([small, huge, after], 1_000)).toEqual([[small], [huge], [after]]);
  });
});
