import type { AnyRecord } from '../topology';
import type {
  ChangelogRecord,
  ProducedRecord,
  RawRecord,
  SourcePosition,
  SourceRange,
} from '../processor/record';
import { materialize, recordBytes } from '../processor/record';
import type { StreamTask, TaskCollector } from '../processor/stream-task';
import type { Sink } from '../sink';
import { ChangelogCache } from '../state/changelog-cache';

/** A changelog record's share of the in-flight bytes before its value is serialized (key + overhead). */
const CHANGELOG_ESTIMATE_BYTES = 256;

/** One source partition's part of a checkpoint. */
export interface CheckpointRange extends SourceRange {
  /** The task that processed the range; its stream time goes with the committed offset. */
  readonly task: StreamTask;
  /**
   * Where the partition's position stands once the checkpoint is committed: past the last record,
   * or past trailing transaction markers of the last fetch (a bounded run needs to see those).
   */
  readonly nextOffset: bigint;
}

interface MutableRange {
  topic: string;
  partition: number;
  firstOffset: string;
  lastOffset: string;
  task: StreamTask;
  nextOffset: bigint;
}

/**
 * Everything processed since the last commit, across all tasks of the instance (Quix Streams'
 * Checkpoint, Kafka Streams' commit interval): the outputs, repartition, late and DLQ records, the
 * last change of every store key, the sinks written to and the input offsets per partition. It
 * becomes durable all at once: sinks flushed, then records produced and offsets committed in one
 * transaction (exactly_once) — see StreamsApp.commit — or forgotten all at once when it cannot be.
 *
 * Changelog changes go through a cache (Kafka Streams' record cache): only the last change of each
 * store key is produced, and its value is serialized then, once, however often the key changed.
 */
export class Checkpoint implements TaskCollector {
  /** Outputs, repartition, late and DLQ records, in the order they were sent. */
  private readonly outputs: ProducedRecord[] = [];
  private readonly changes = new ChangelogCache<ChangelogRecord>();
  readonly sinks = new Set<Sink<unknown, unknown>>();
  private readonly partitions = new Map<string, MutableRange>();
  /** Tasks whose stores this checkpoint changed: they hold uncommitted state if it is abandoned. */
  readonly tasks = new Set<StreamTask>();
  /** Wall-clock time (ms) of the checkpoint's first effect; the commit interval counts from it. */
  private firstEffectAt: number | undefined;
  private bytesHeld = 0;
  private heldRecords = 0;

  constructor(
    /** The group generation (count of joins) the checkpoint's records were fetched in. */
    readonly generation = 0,
    private readonly clock: () => number = Date.now,
  ) {}

  send(record: ProducedRecord): void {
    this.touch();
    this.outputs.push(record);
    this.bytesHeld += recordBytes(record);
    this.heldRecords += 1;
  }

  changelog(record: ChangelogRecord): void {
    this.touch();
    if (this.changes.put(record) === undefined) {
      this.bytesHeld += CHANGELOG_ESTIMATE_BYTES;
      this.heldRecords += 1;
    }
  }

  sinkWrite(sink: Sink<unknown, unknown>, record: AnyRecord, source: SourcePosition): void {
    this.touch();
    sink.write(record, source);
    this.sinks.add(sink);
    this.heldRecords += 1;
  }

  /** Counts an input record as part of the checkpoint (after its task processed it). */
  consumed(task: StreamTask, raw: RawRecord): void {
    this.touch();
    this.tasks.add(task);
    this.bytesHeld += recordBytes(raw);
    const id = `${raw.topic}\u0000${raw.partition}`;
    const next = BigInt(raw.offset) + 1n;
    const range = this.partitions.get(id);
    if (range === undefined) {
      this.partitions.set(id, {
        topic: raw.topic,
        partition: raw.partition,
        firstOffset: raw.offset,
        lastOffset: raw.offset,
        task,
        nextOffset: next,
      });
    } else {
      range.lastOffset = raw.offset;
      if (next > range.nextOffset) range.nextOffset = next;
    }
  }

  /** A task that changed state without input (a wall-clock punctuation). */
  touched(task: StreamTask): void {
    this.tasks.add(task);
  }

  /** Moves a partition's committed position past offsets without records (transaction markers). */
  skipTo(topic: string, partition: number, nextOffset: bigint): void {
    const range = this.partitions.get(`${topic}\u0000${partition}`);
    if (range !== undefined && nextOffset > range.nextOffset) range.nextOffset = nextOffset;
  }

  /** What the commit produces: the outputs, then the last change of every store key, serialized now. */
  records(): ProducedRecord[] {
    const records = this.outputs.slice();
    for (const change of this.changes.changes()) records.push(materialize(change));
    return records;
  }

  /** The input offsets covered, one range per source partition. */
  ranges(): CheckpointRange[] {
    return [...this.partitions.values()];
  }

  /** Nothing to produce, no sink written, no input: no commit needed. */
  isEmpty(): boolean {
    return (
      this.outputs.length === 0 &&
      this.changes.size === 0 &&
      this.sinks.size === 0 &&
      this.partitions.size === 0
    );
  }

  /** Outputs, changelog keys and sink writes held, for the in-flight bound. */
  get inFlightRecords(): number {
    return this.heldRecords;
  }

  get inFlightBytes(): number {
    return this.bytesHeld;
  }

  /** Milliseconds since the checkpoint's first effect (0 when it has none). */
  age(): number {
    return this.firstEffectAt === undefined ? 0 : this.clock() - this.firstEffectAt;
  }

  /** Forgets sink writes that will not be committed (their input will be processed again). */
  discard(): void {
    for (const sink of this.sinks) sink.discard();
  }

  private touch(): void {
    this.firstEffectAt ??= this.clock();
  }
}
