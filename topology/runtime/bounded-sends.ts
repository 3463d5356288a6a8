import type { ProducedRecord } from '../processor/record';
import { partitionId, producedBytes } from '../processor/record';

/**
 * Splits a run's records into consecutive sends in which every partition's batch stays within
 * `maxBytesPerPartition` (estimated with producedBytes), so no produce request carries a record
 * batch over the broker's max.message.bytes. Order is kept: records are only cut, never moved.
 * A record without a partition may land on any partition of its topic (the producer's partitioner
 * picks it), so it counts against all of them. A record larger than the bound goes alone.
 */
export function boundedSends(
  records: readonly ProducedRecord[],
  maxBytesPerPartition: number,
): ProducedRecord[][] {
  const sends: ProducedRecord[][] = [];
  let current: ProducedRecord[] = [];
  let usage = new SendUsage();
  for (const record of records) {
    const bytes = producedBytes(record);
    if (current.length > 0 && usage.after(record, bytes) > maxBytesPerPartition) {
      sends.push(current);
      current = [];
      usage = new SendUsage();
    }
    current.push(record);
    usage.add(record, bytes);
  }
  if (current.length > 0) sends.push(current);
  return sends;
}

/** Bytes one send puts on each partition: explicitly partitioned records, and unpartitioned ones per topic. */
class SendUsage {
  private readonly byPartition = new Map<string, number>();
  /** Largest explicit partition total per topic. */
  private readonly maxPartition = new Map<string, number>();
  private readonly unpartitioned = new Map<string, number>();

  /** The most bytes any partition of the record's topic would hold with the record added. */
  after(record: ProducedRecord, bytes: number): number {
    const loose = this.unpartitioned.get(record.topic) ?? 0;
    const explicit =
      record.partition === undefined
        ? (this.maxPartition.get(record.topic) ?? 0)
        : (this.byPartition.get(partitionId(record.topic, record.partition)) ?? 0);
    return loose + explicit + bytes;
  }

  add(record: ProducedRecord, bytes: number): void {
    if (record.partition === undefined) {
      this.unpartitioned.set(record.topic, (this.unpartitioned.get(record.topic) ?? 0) + bytes);
      return;
    }
    const id = partitionId(record.topic, record.partition);
    const total = (this.byPartition.get(id) ?? 0) + bytes;
    this.byPartition.set(id, total);
    this.maxPartition.set(record.topic, Math.max(this.maxPartition.get(record.topic) ?? 0, total));
  }
}
