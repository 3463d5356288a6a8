import type { AnyRecord } from '../topology';
import type { ProducedRecord, RawRecord, SourcePosition, SourceRange } from '../processor/record';
import type { TaskCollector } from '../processor/stream-task';
import type { Sink } from '../sink';
import { ChangelogCache } from '../state/changelog-cache';
import { recordBytes } from './kafka-records';

/**
 * Work processed but not yet durable: the outputs of a run of input records of one partition (or
 * of one wall-clock punctuation), the sinks they wrote to and the input offset range. It becomes
 * durable all at once at commit.
 *
 * Changelog records go through a cache (Kafka Streams' caching): only the last change of each
 * store key in the run is produced, at commit, in order of last write; a replaced change no longer
 * counts against the in-flight bounds.
 */
export class InFlightBatch implements TaskCollector {
  /** Outputs, repartition, late and DLQ records, in the order they were sent. */
  private readonly outputs: ProducedRecord[] = [];
  private readonly changelog = new ChangelogCache<ProducedRecord>();
  readonly sinks = new Set<Sink<unknown, unknown>>();
  private bytesHeld = 0;
  private heldRecords = 0;
  private first: RawRecord | undefined;
  private last: RawRecord | undefined;

  /** `changelogTopics`: the application's store changelogs, whose records are cached per key. */
  constructor(private readonly changelogTopics: ReadonlySet<string> = new Set()) {}

  send(record: ProducedRecord): void {
    if (this.changelogTopics.has(record.topic)) {
      const replaced = this.changelog.put(record);
      if (replaced !== undefined) {
        this.bytesHeld -= recordBytes(replaced);
        this.heldRecords -= 1;
      }
    } else {
      this.outputs.push(record);
    }
    this.bytesHeld += recordBytes(record);
    this.heldRecords += 1;
  }

  /** What the commit produces: the outputs, then the last change of every changelog key. */
  records(): ProducedRecord[] {
    return [...this.outputs, ...this.changelog.changes()];
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

  /** Nothing to produce and no sink written: no commit needed. */
  isEmpty(): boolean {
    return this.outputs.length === 0 && this.changelog.size === 0 && this.sinks.size === 0;
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
