import type { KeyValueStore } from '../state/key-value-store';
import type { WindowStore } from '../state/window-store';
import type { SourcePosition, StreamRecord } from './record';

/**
 * `stream-time` punctuations fire as the task's stream time (the largest event timestamp it has
 * seen) advances; `wall-clock` ones fire on the system clock, between records.
 */
export type PunctuationType = 'stream-time' | 'wall-clock';

/** Called with the stream time or wall-clock time at which the punctuation fires. */
export type Punctuator = (timestamp: number) => void;

export interface Cancellable {
  cancel(): void;
}

/** What a processor sees of its task. Everything here is synchronous. */
export interface ProcessorContext<KOut, VOut> {
  readonly applicationId: string;
  /** `${subTopologyId}_${partition}` like Kafka Streams. */
  readonly taskId: string;
  readonly partition: number;
  readonly processorName: string;
  /**
   * The input record being processed, or the last one processed when called from a wall-clock
   * punctuation: the provenance to give records a processor creates.
   */
  position(): SourcePosition;
  /** Largest event timestamp the task has seen; -Infinity before the first record. */
  streamTime(): number;
  /** Passes a record to the processor's downstream operators, synchronously. */
  forward(record: StreamRecord<KOut, VOut>): void;
  /** A store the processor declared when it was added to the topology. */
  keyValueStore<K, V>(name: string): KeyValueStore<K, V>;
  windowStore<K, V>(name: string): WindowStore<K, V>;
  schedule(intervalMs: number, type: PunctuationType, punctuator: Punctuator): Cancellable;
  /**
   * Hands a record that arrived after its window closed to the late-records topic (counted in
   * metrics). `key`/`value` are the record's serialized form.
   */
  reportLate(late: LateRecord): void;
}

export interface LateRecord {
  readonly record: StreamRecord<unknown, unknown>;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** End of the (last) window the record was too late for. */
  readonly windowEnd: number;
}

/**
 * The processor API: one instance per task, fed one record at a time. State lives in stores, not in
 * fields, so that it survives restarts (fields are fine for caches that can be rebuilt).
 */
export interface Processor<KIn, VIn, KOut, VOut> {
  init?(context: ProcessorContext<KOut, VOut>): void;
  process(record: StreamRecord<KIn, VIn>): void;
  close?(): void;
}

export type ProcessorSupplier<KIn, VIn, KOut, VOut> = () => Processor<KIn, VIn, KOut, VOut>;
