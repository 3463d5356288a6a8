import type { SourcePosition, SourceRange, StreamRecord } from './processor/record';

/**
 * An external sink (a database, an object store...) at the edge of a topology.
 *
 * `write` is called synchronously while a record is processed and must only buffer; all I/O happens
 * in `flush`, which the runtime awaits before it commits the input offsets whose effects it covers.
 * `ranges` names exactly those inputs (per source partition, first and last offset). A range always
 * starts at the partition's committed offset, so after a crash the same start is replayed: a sink
 * that names its writes after the range start (same object key, same insert deduplication token
 * built from `source` offsets of the rows) makes the replay idempotent. The end of a replayed range
 * can differ (fetch sizes vary), so tokens must not depend on it alone.
 *
 * A flush that throws is retried with backoff while the partition is paused; nothing is skipped.
 * BatchingSink (./batching-sink.ts) implements the buffering; a sink adds its mapping and its writes.
 */
export interface Sink<K, V> {
  readonly name: string;
  write(record: StreamRecord<K, V>, source: SourcePosition): void;
  flush(ranges: readonly SourceRange[]): Promise<void>;
  /** Drops buffered writes that will be replayed (the runtime aborted the batch that made them). */
  discard(): void;
}
