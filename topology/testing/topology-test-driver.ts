import { TopologyDefinitionError } from '../errors';
import type { TopologyMetrics } from '../metrics';
import {
  materialize,
  type Headers,
  type ProducedRecord,
  type RawRecord,
  type SourceRange,
} from '../processor/record';
import { decodeRepartitionBatch } from '../processor/repartition-batch';
import { StreamTask } from '../processor/stream-task';
import { jsonSerde, type Serde } from '../serde';
import type { KeyValueStore } from '../state/key-value-store';
import type { StateStore } from '../state/store';
import type { ExceptionPolicies } from '../processor/exception-policy';
import type { WindowStore } from '../state/window-store';
import { resolveTopic, type Topology } from '../topology';

export interface TopologyTestDriverOptions {
  readonly applicationId?: string;
  /** Initial wall-clock time for wall-clock punctuation (ms); default 0. */
  readonly initialWallClockMs?: number;
  readonly lateTopic?: string;
  readonly dlqTopic?: string;
  readonly metrics?: TopologyMetrics;
  /** Largest record a task may produce (see StreamTaskOptions.maxRecordBytes). */
  readonly maxRecordBytes?: number;
  /** What becomes of records that cannot be deserialized or processed; default: the DLQ. */
  readonly exceptionPolicies?: ExceptionPolicies;
}

export interface TestRecord<K, V> {
  readonly key: K;
  readonly value: V;
  readonly timestamp: number;
  readonly headers: Headers;
}

/** Pipes records into one source topic of the driver. */
export class TestInputTopic<K, V> {
  constructor(
    private readonly driver: TopologyTestDriver,
    readonly topic: string,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
  ) {}

  pipe(key: K, value: V, timestamp: number, headers: Headers = {}): void {
    this.driver.pipeRaw({
      topic: this.topic,
      key: this.keySerde.serialize(key),
      value: this.valueSerde.serialize(value),
      timestamp,
      headers,
    });
  }
}

/** Reads (and consumes) what the topology wrote to one topic. */
export class TestOutputTopic<K, V> {
  constructor(
    private readonly records: ProducedRecord[],
    readonly topic: string,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
  ) {}

  readRecords(): TestRecord<K, V>[] {
    return this.records.splice(0).map((r) => ({
      key: this.keySerde.deserialize(r.key),
      value: this.valueSerde.deserialize(r.value),
      timestamp: r.timestamp,
      headers: r.headers,
    }));
  }

  readKeyValues(): { key: K; value: V }[] {
    return this.readRecords().map(({ key, value }) => ({ key, value }));
  }

  isEmpty(): boolean {
    return this.records.length === 0;
  }
}

/**
 * Runs a topology without Kafka, in the spirit of Kafka Streams' TopologyTestDriver: one task per
 * sub-topology (partition 0), records processed synchronously as they are piped, repartition topics
 * fed straight back into the sub-topology reading them, wall clock under the test's control.
 */
export class TopologyTestDriver {
  readonly applicationId: string;
  readonly lateTopic: string;
  readonly dlqTopic: string;
  private readonly topics = new Map<string, ProducedRecord[]>();
  private readonly offsets = new Map<string, number>();
  private readonly tasksByTopic = new Map<string, StreamTask>();
  private readonly tasks: StreamTask[] = [];
  private readonly pending: RawRecord[] = [];
  private readonly uncommitted = new Map<string, SourceRange>();
  private wallClock: number;
  private draining = false;
  private readonly repartitionTopics: ReadonlySet<string>;

  constructor(
    private readonly topology: Topology,
    options: TopologyTestDriverOptions = {},
  ) {
    this.applicationId = options.applicationId ?? 'test-app';
    this.lateTopic = options.lateTopic ?? `${this.applicationId}-late`;
    this.dlqTopic = options.dlqTopic ?? `${this.applicationId}-dlq`;
    this.wallClock = options.initialWallClockMs ?? 0;
    // One partition per topic here: every repartition record goes to partition 0.
    const repartitionPartitions = new Map(
      topology.repartitionTopics.map((spec) => [
        resolveTopic({ kind: 'repartition', name: spec.name }, this.applicationId),
        1,
      ]),
    );
    this.repartitionTopics = new Set(repartitionPartitions.keys());
    for (const subTopology of topology.subTopologies) {
      const task = new StreamTask({
        applicationId: this.applicationId,
        topology,
        subTopology,
        partition: 0,
        lateTopic: this.lateTopic,
        dlqTopic: this.dlqTopic,
        repartitionPartitions,
        clock: () => this.wallClock,
        metrics: options.metrics,
        maxRecordBytes: options.maxRecordBytes,
        exceptionPolicies: options.exceptionPolicies,
        collector: {
          send: (record) => this.append(record),
          // No commits here: every change is logged as it happens.
          changelog: (change) => this.append(materialize(change)),
          sinkWrite: (sink, record, source) => sink.write(record, source),
        },
      });
      this.tasks.push(task);
      for (const ref of subTopology.sourceTopics)
        this.tasksByTopic.set(resolveTopic(ref, this.applicationId), task);
    }
  }

  createInputTopic<K, V>(
    topic: string,
    serdes: { keySerde?: Serde<K>; valueSerde?: Serde<V> } = {},
  ): TestInputTopic<K, V> {
    if (!this.tasksByTopic.has(topic)) throw new TopologyDefinitionError(`no source reads topic ${topic}`);
    return new TestInputTopic(
      this,
      topic,
      serdes.keySerde ?? jsonSerde<K>(),
      serdes.valueSerde ?? jsonSerde<V>(),
    );
  }

  createOutputTopic<K, V>(
    topic: string,
    serdes: { keySerde?: Serde<K>; valueSerde?: Serde<V> } = {},
  ): TestOutputTopic<K, V> {
    return new TestOutputTopic(
      this.topic(topic),
      topic,
      serdes.keySerde ?? jsonSerde<K>(),
      serdes.valueSerde ?? jsonSerde<V>(),
    );
  }

  /** Pipes one serialized record, then everything it caused on repartition topics. */
  pipeRaw(record: {
    topic: string;
    key: Buffer | null;
    value: Buffer | null;
    timestamp: number;
    headers?: Headers;
  }): void {
    if (!this.tasksByTopic.has(record.topic))
      throw new TopologyDefinitionError(`no source reads topic ${record.topic}`);
    this.pending.push(this.positioned(record));
    this.drain();
  }

  /** Moves the wall clock forward and fires the wall-clock punctuations that are due. */
  advanceWallClockTime(ms: number): void {
    this.wallClock += ms;
    for (const task of this.tasks) task.punctuateWallClock();
    this.drain();
  }

  /** Flushes the external sinks with the source ranges processed since the last commit. */
  async commit(): Promise<void> {
    const ranges = [...this.uncommitted.values()];
    this.uncommitted.clear();
    for (const sink of this.topology.externalSinks) await sink.flush(ranges);
  }

  keyValueStore<K, V>(name: string): KeyValueStore<K, V> {
    return this.store(name, 'key-value') as KeyValueStore<K, V>;
  }

  windowStore<K, V>(name: string): WindowStore<K, V> {
    return this.store(name, 'window') as WindowStore<K, V>;
  }

  /** Every record written to `topic` (outputs, changelogs, late, DLQ), not consumed by readers. */
  /** What the topology wrote to `topic`; a repartition topic's batches as the records in them. */
  produced(topic: string): readonly ProducedRecord[] {
    if (!this.repartitionTopics.has(topic)) return [...this.topic(topic)];
    return this.topic(topic).flatMap((batch) =>
      decodeRepartitionBatch(batch.value).map((item) => ({ ...item, topic, partition: batch.partition })),
    );
  }

  close(): void {
    for (const task of this.tasks) task.close();
  }

  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      for (let raw = this.pending.shift(); raw; raw = this.pending.shift()) {
        (this.tasksByTopic.get(raw.topic) as StreamTask).process(raw);
        this.track(raw);
      }
    } finally {
      this.draining = false;
    }
  }

  private track(raw: RawRecord): void {
    const id = `${raw.topic}:${raw.partition}`;
    const range = this.uncommitted.get(id);
    this.uncommitted.set(id, {
      topic: raw.topic,
      partition: raw.partition,
      firstOffset: range?.firstOffset ?? raw.offset,
      lastOffset: raw.offset,
    });
  }

  private append(record: ProducedRecord): void {
    this.topic(record.topic).push(record);
    // Records written to a topic the topology reads (repartition topics) are processed next.
    if (this.tasksByTopic.has(record.topic)) this.pending.push(this.positioned(record));
  }

  private positioned(record: {
    topic: string;
    key: Buffer | null;
    value: Buffer | null;
    timestamp: number;
    headers?: Headers;
  }): RawRecord {
    const offset = this.offsets.get(record.topic) ?? 0;
    this.offsets.set(record.topic, offset + 1);
    return { ...record, headers: record.headers ?? {}, partition: 0, offset: String(offset) };
  }

  private topic(name: string): ProducedRecord[] {
    let records = this.topics.get(name);
    if (!records) {
      records = [];
      this.topics.set(name, records);
    }
    return records;
  }

  private store(name: string, kind: StateStore['kind']): StateStore {
    for (const task of this.tasks) {
      const store = task.stores.get(name);
      if (store && store.kind === kind) return store;
    }
    throw new TopologyDefinitionError(`no ${kind} store named ${name}`);
  }
}
