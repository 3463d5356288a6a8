/** Record headers; binary header values are decoded as UTF-8. */
export type Headers = Readonly<Record<string, string>>;

/**
 * A record flowing through a topology. `topic`, `partition` and `offset` name the input record it
 * descends from (its provenance), kept through every operator so errors and sinks can point at it.
 * `timestamp` is event time, as given by the source's timestamp extractor.
 */
export interface StreamRecord<K, V> {
  readonly key: K;
  readonly value: V;
  readonly timestamp: number;
  readonly headers: Headers;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

/** A record as read from a topic, before deserialization. */
export interface RawRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** Kafka record timestamp (ms). */
  readonly timestamp: number;
  readonly headers: Headers;
}

/** A record the topology wants written to a topic (output, repartition, changelog, late, DLQ). */
export interface ProducedRecord {
  readonly topic: string;
  /** Unset: the producer's default (murmur2 on the key, Kafka-compatible) partitioner picks it. */
  readonly partition?: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly timestamp: number;
  readonly headers: Headers;
}

/**
 * A change of a store for its changelog topic (partition = the task's). The value is serialized only
 * when the change is made durable (see ChangelogWriter): `value` returns the serialized value, null
 * for a deletion (a tombstone).
 */
export interface ChangelogRecord {
  readonly topic: string;
  readonly partition: number;
  readonly key: Buffer;
  readonly value: (() => Buffer | null) | null;
  readonly timestamp: number;
}

/** The changelog record as it is produced: its value serialized now. */
export function materialize(change: ChangelogRecord): ProducedRecord {
  return {
    topic: change.topic,
    partition: change.partition,
    key: change.key,
    value: change.value === null ? null : change.value(),
    timestamp: change.timestamp,
    headers: {},
  };
}

/** Where a record came from, given to external sinks so their writes can be made idempotent. */
export interface SourcePosition {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

/** One string per topic partition, to key maps by partition (topic names cannot hold NUL). */
export function partitionId(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** A contiguous range of input offsets whose effects a sink flush covers (both ends inclusive). */
export interface SourceRange {
  readonly topic: string;
  readonly partition: number;
  readonly firstOffset: string;
  readonly lastOffset: string;
}

/** Header names the runtime sets on DLQ and late records. */
export const HEADER = {
  error: 'stacklens.error',
  errorType: 'stacklens.error.type',
  sourceTopic: 'stacklens.source.topic',
  sourcePartition: 'stacklens.source.partition',
  sourceOffset: 'stacklens.source.offset',
  lateProcessor: 'stacklens.late.processor',
  lateWindowEnd: 'stacklens.late.window-end',
  lateStreamTime: 'stacklens.late.stream-time',
  /** On a dead letter whose input was too large to copy: the input value's size; value and key are null. */
  droppedValueBytes: 'stacklens.dlq.dropped-value-bytes',
} as const;

/** Approximate size of a record in memory, for the in-flight bytes bound. */
export function recordBytes(record: { key: Buffer | null; value: Buffer | null }): number {
  return (record.key?.length ?? 0) + (record.value?.length ?? 0) + 64;
}

/**
 * Upper estimate of a record's size in a produce request's record batch: key, value, header names
 * and values, plus 64 bytes for the record's varint fields and its share of the batch header.
 */
export function producedBytes(record: ProducedRecord): number {
  let bytes = recordBytes(record);
  for (const [name, value] of Object.entries(record.headers)) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value) + 8;
  }
  return bytes;
}
