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
 *
 * The runtime holds a checkpoint's writes until its commit begins (so that a sink's buffer holds one
 * checkpoint while the next fills). A sink whose mapping of a record can fail splits `write` in two:
 * `prepare` runs while the record is processed, so a record it rejects is handled there by the
 * processing exception policy (dead-lettered by default) instead of failing the whole commit later;
 * `writePrepared` buffers what it returned when the commit begins. Without them, `write` runs then.
 */
export interface Sink<K, V> {
  readonly name: string;
  write(record: StreamRecord<K, V>, source: SourcePosition): void;
  /** What `writePrepared` will buffer for the record; pure (no I/O, no buffering); throws to reject it. */
  prepare?(record: StreamRecord<K, V>): unknown;
  /** Buffers what `prepare` returned for a record read at `source` (= `write` of that record). */
  writePrepared?(prepared: unknown, source: SourcePosition): void;
  flush(ranges: readonly SourceRange[]): Promise<void>;
  /** Drops buffered writes that will be replayed (the runtime aborted the batch that made them). */
  discard(): void;
  /**
   * The instance's partitions were assigned anew (a rebalance): a partition may come back with writes
   * another instance made meanwhile, so whatever the sink remembers of its partitions is stale.
   */
  assigned?(): void;
}

/** A sink that maps records while they are processed (both halves of the split `write`). */
export type PreparingSink<K, V> = Sink<K, V> & Required<Pick<Sink<K, V>, 'prepare' | 'writePrepared'>>;

export function isPreparing<K, V>(sink: Sink<K, V>): sink is PreparingSink<K, V> {
  return sink.prepare !== undefined && sink.writePrepared !== undefined;
}
