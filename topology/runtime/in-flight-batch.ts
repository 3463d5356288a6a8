import type { AnyRecord } from '../topology';
import type { ProducedRecord, RawRecord, SourcePosition, SourceRange } from '../processor/record';
import type { TaskCollector } from '../processor/stream-task';
import type { Sink } from '../sink';
import { recordBytes } from './kafka-records';

/**
 * Work processed but not yet durable: the outputs of a run of input records of one partition (or
 * of one wall-clock punctuation), the sinks they wrote to and the input offset range. It becomes
 * durable all at once at commit.
 */
export class InFlightBatch implements TaskCollector {
  readonly records: ProducedRecord[] = [];
  readonly sinks = new Set<Sink<unknown, unknown>>();
  private bytesHeld = 0;
  private heldRecords = 0;
  private first: RawRecord | undefined;
  private last: RawRecord | undefined;

  send(record: ProducedRecord): void {
    this.records.push(record);
    this.bytesHeld += recordBytes(record);
    this.heldRecords += 1;
  }

  sinkWrite(sink: Sink<unknown, unknown>, record: AnyRecord, source: SourcePosition): void {
    sink.write(record, source);
    this.sinks.add(sink);
    this.heldRecords += 1;
  }

  /** Counts an input record as part of this batch (after it was processed). */
  consumed(raw: RawRecord): void {
    this.first ??= raw;
    this.last = raw;
    this.bytesHeld += recordBytes(raw);
  }

  /** Outputs and sink writes held, for the in-flight bound. */
  get inFlightRecords(): number {
    return this.heldRecords;
  }

  get inFlightBytes(): number {
    return this.bytesHeld;
  }

  /** Input range covered; undefined for a punctuation-only batch. */
  range(): SourceRange | undefined {
    if (!this.first || !this.last) return undefined;
    return {
      topic: this.first.topic,
      partition: this.first.partition,
      firstOffset: this.first.offset,
      lastOffset: this.last.offset,
    };
  }

  /** Forgets sink writes that will not be committed (they will be replayed). */
  discard(): void {
    for (const sink of this.sinks) sink.discard();
  }
}
