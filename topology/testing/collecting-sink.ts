import type { SourcePosition, SourceRange, StreamRecord } from '../processor/record';
import type { Sink } from '../sink';

/** A Sink that keeps its writes in memory, for tests: what is buffered, and each flush. */
export class CollectingSink<K, V> implements Sink<K, V> {
  readonly buffered: { record: StreamRecord<K, V>; source: SourcePosition }[] = [];
  readonly flushed: { records: StreamRecord<K, V>[]; ranges: readonly SourceRange[] }[] = [];

  constructor(readonly name: string) {}

  write(record: StreamRecord<K, V>, source: SourcePosition): void {
    this.buffered.push({ record, source });
  }

  async flush(ranges: readonly SourceRange[]): Promise<void> {
    this.flushed.push({ records: this.buffered.splice(0).map((w) => w.record), ranges });
  }

  discard(): void {
    this.buffered.length = 0;
  }
}
