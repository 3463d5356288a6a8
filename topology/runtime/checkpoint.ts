import type { AnyRecord } from '../topology';
import type {
  ChangelogRecord,
  ProducedRecord,
  RawRecord,
  SourcePosition,
  SourceRange,
} from '../processor/record';
import { materialize, partitionId, recordBytes } from '../processor/record';
import type { StreamTask, TaskCollector } from '../processor/stream-task';
import { isPreparing, type Sink } from '../sink';
import { StreamsRuntimeError } from '../errors';
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

/** A range as committed: with its task's stream time when the checkpoint was sealed. */
export interface SealedRange extends CheckpointRange {
  readonly streamTime: number;
}

/** What a sealed checkpoint commits, fixed when it was sealed (processing goes on meanwhile). */
export interface SealedCheckpoint {
  /** The outputs, then the last change of every store key, serialized at the seal. */
  readonly records: ProducedRecord[];
  readonly ranges: SealedRange[];
}

/** A record for a sink's `write`, or what its `prepare` made of it for `writePrepared`. */
type SinkWrite =
  | { readonly record: AnyRecord; readonly source: SourcePosition }
  | { readonly prepared: unknown; readonly source: SourcePosition };

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
 * transaction (exactly_once) — see CheckpointCommitter.commit — or forgotten all at once when it cannot be.
 *
 * Changelog changes go through a cache (Kafka Streams' record cache): only the last change of each
 * store key is produced, and its value is serialized then, once, however often the key changed.
 */
export class Checkpoint implements TaskCollector {
  /** Outputs, repartition, late and DLQ records, in the order they were sent. */
  private readonly outputs: ProducedRecord[] = [];
  private readonly changes = new ChangelogCache<ChangelogRecord>();
  /**
   * Sink writes, held here until the commit begins (see seal): a sink's buffer then holds only the
   * committing checkpoint's writes while the next checkpoint fills, so the two can overlap.
   */
  private readonly sinkWrites = new Map<Sink<unknown, unknown>, SinkWrite[]>();
  private sealed = false;
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
    // Mapped now, while the record is processed: a record the sink rejects is this record's failure.
    const write: SinkWrite = isPreparing(sink)
      ? { prepared: sink.prepare(record), source }
      : { record, source };
    this.touch();
    let writes = this.sinkWrites.get(sink);
    if (writes === undefined) this.sinkWrites.set(sink, (writes = []));
    writes.push(write);
    this.heldRecords += 1;
  }

  /** The sinks this checkpoint wrote to. */
  get sinks(): Iterable<Sink<unknown, unknown>> {
    return this.sinkWrites.keys();
  }

  /**
   * Fixes what the commit makes durable, as the commit begins, since the tasks go on processing
   * (and changing their stores' values in place) while it runs: store values are serialized and
   * stream times read now, and the held writes handed to their sinks, in order — from here the
   * sinks' buffers belong to this checkpoint until its flush succeeds or it is discarded.
   */
  seal(): SealedCheckpoint {
    if (this.sealed) throw new StreamsRuntimeError('a checkpoint is sealed once');
    this.sealed = true;
    for (const [sink, writes] of this.sinkWrites) {
      for (const write of writes) {
        if ('record' in write) sink.write(write.record, write.source);
        else if (isPreparing(sink)) sink.writePrepared(write.prepared, write.source);
      }
      writes.length = 0;
    }
    // Persistent stores set aside the changes this commit makes durable (serialized once, here,
    // for their disk and for the changelog records below alike).
    for (const task of this.tasks)
      for (const store of task.stores.values()) store.persistent?.prepareCommit();
    const records = this.outputs.slice();
    for (const change of this.changes.changes()) records.push(materialize(change));
    const ranges = this.ranges().map((r) => ({ ...r, streamTime: r.task.streamTime() }));
    return { records, ranges };
  }

  /** Counts an input record as part of the checkpoint (after its task processed it). */
  consumed(task: StreamTask, raw: RawRecord): void {
    this.touch();
    this.tasks.add(task);
    this.bytesHeld += recordBytes(raw);
    const id = partitionId(raw.topic, raw.partition);
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
    const range = this.partitions.get(partitionId(topic, partition));
    if (range !== undefined && nextOffset > range.nextOffset) range.nextOffset = nextOffset;
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
      this.sinkWrites.size === 0 &&
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

  /**
   * Forgets sink writes that will not be committed (their input will be processed again): those
   * still held here, or, once sealed, the sinks' buffers, which then hold only this checkpoint's.
   */
  discard(): void {
    if (this.sealed) for (const sink of this.sinkWrites.keys()) sink.discard();
    this.sinkWrites.clear();
  }

  private touch(): void {
    this.firstEffectAt ??= this.clock();
  }
}
