import { randomUUID } from 'node:crypto';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Consumer, Kafka } from 'kafkajs';
import { Subject, type Observable } from 'rxjs';
import type { Logger } from '../../common/logger';
import { DecodeError } from '../../processors/errors';
import type { Alert, LogRecord } from '../../processors/records';
import type { LiveFeed, ProbeResult } from '../deps';
import { LiveRecord } from './live-record';

export interface KafkaLiveFeedOptions {
  kafka: Kafka;
  /** Prefix of this process's consumer group (a unique suffix is added: every process must see every record). */
  groupPrefix: string;
  logsTopic?: string;
  alertsTopic?: string;
  /** Decodes Confluent-framed Avro records; plain JSON records are read without it. */
  registry?: SchemaRegistry;
  logger: Logger;
}

/** First byte of a Confluent wire-format message (magic byte, then a 4-byte schema id). */
const CONFLUENT_MAGIC = 0;
const CONFLUENT_HEADER_BYTES = 5;

/** What the registry resolves a schema id to: decodes a payload synchronously. */
type RegistrySchema = Awaited<ReturnType<SchemaRegistry['getSchema']>>;

/**
 * The process's one consumer of enriched logs and alerts, feeding the API's live streams. It joins a
 * consumer group of its own (unique per process) and never commits: a live tail shows what happens from
 * now on, history is served from ClickHouse.
 *
 * "From now on" is made exact by the feed itself, not left to the consumer's `latest` reset: KafkaJS
 * emits GROUP_JOIN before it resolves where to read, and resolves `latest` only at the first fetch, so a
 * feed reporting ready at GROUP_JOIN could skip whatever was produced in between. Instead, start() reads
 * the end offsets before joining, the feed tracks the next offset of every partition as it reads, and
 * every GROUP_JOIN seeks each assigned partition there, synchronously, before KafkaJS fetches anything.
 * Ready therefore means "positions fixed": every record produced after it is delivered, and a rejoin
 * (after a crash and restart) resumes where the feed stopped instead of at a new `latest`.
 */
export class KafkaLiveFeed implements LiveFeed {
  private readonly logs = new Subject<LiveRecord<LogRecord>>();
  private readonly alerts = new Subject<LiveRecord<Alert>>();
  readonly logs$: Observable<LiveRecord<LogRecord>> = this.logs.asObservable();
  readonly alerts$: Observable<LiveRecord<Alert>> = this.alerts.asObservable();
  private readonly consumer: Consumer;
  private assigned = false;
  /** Next offset to deliver, by topic and partition. */
  private readonly positions = new Map<string, Map<number, string>>();
  /** Schemas by registry id, resolved once: decoding a record later is then synchronous. */
  private readonly schemas = new Map<number, RegistrySchema>();

  constructor(private readonly options: KafkaLiveFeedOptions) {
    this.consumer = options.kafka.consumer({
      groupId: `${options.groupPrefix}-live-${randomUUID()}`,
      // disconnect() waits for the fetch in flight, which an idle broker holds for maxWaitTimeInMs (5 s by
      // default): a short wait keeps shutdown quick, at the cost of one cheap empty fetch a second when idle.
      maxWaitTimeInMs: 1_000,
    });
    // Synchronous: KafkaJS applies these seeks at the first fetch after the join, before it would
    // resolve `latest` for a partition without a position.
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => {
      const assignment = e.payload.memberAssignment;
      for (const [topic, partitions] of Object.entries(assignment)) {
        for (const partition of partitions) {
          const offset = this.positions.get(topic)?.get(partition);
          if (offset !== undefined) this.consumer.seek({ topic, partition, offset });
        }
      }
      this.assigned = Object.keys(assignment).length > 0;
    });
    this.consumer.on(this.consumer.events.CRASH, () => {
      this.assigned = false;
    });
  }

  async start(): Promise<void> {
    const logsTopic = this.options.logsTopic ?? 'stacklens-enriched';
    const alertsTopic = this.options.alertsTopic ?? 'stacklens-alerts';
    await this.snapshotEndOffsets([logsTopic, alertsTopic]);
    await this.consumer.connect();
    // A partition added after start() has no position: the consumer's own `latest` applies there.
    await this.consumer.subscribe({ topics: [logsTopic, alertsTopic], fromBeginning: false });
    await this.consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        this.advance(topic, partition, message.offset);
        if (message.value === null) return;
        const skip = this.skipper(topic, message.offset);
        let decode: () => unknown;
        try {
          decode = await this.decoderOf(message.value);
        } catch (error) {
          skip(error as Error);
          return;
        }
        if (topic === logsTopic) this.logs.next(LiveRecord.lazy(decode as () => LogRecord, skip));
        else this.alerts.next(LiveRecord.lazy(decode as () => Alert, skip));
      },
    });
  }

  /**
   * Reports a record the API cannot show: it is skipped, not retried (the pipeline owns its correctness).
   * Built apart from eachMessage so that what a lazy record keeps is the topic and offset, not the KafkaJS
   * message (whose value is a view of the whole fetch response).
   */
  private skipper(topic: string, offset: string): (error: Error) => void {
    return (error) =>
      this.options.logger.warn(
        { topic, offset, err: error.message },
        'live feed skipped an undecodable record',
      );
  }

  /** The current end of every partition: where the feed starts. */
  private async snapshotEndOffsets(topics: string[]): Promise<void> {
    const admin = this.options.kafka.admin();
    await admin.connect();
    try {
      for (const topic of topics) {
        const offsets = await admin.fetchTopicOffsets(topic);
        this.positions.set(topic, new Map(offsets.map((p) => [p.partition, p.high])));
      }
    } finally {
      await admin.disconnect();
    }
  }

  private advance(topic: string, partition: number, offset: string): void {
    let partitions = this.positions.get(topic);
    if (partitions === undefined) this.positions.set(topic, (partitions = new Map()));
    partitions.set(partition, (BigInt(offset) + 1n).toString());
  }

  /** Readiness: the live consumer has partitions assigned, and its positions in them are fixed. */
  probe(): Promise<ProbeResult> {
    return Promise.resolve(
      this.assigned ? { ok: true } : { ok: false, error: 'live consumer has no partitions assigned' },
    );
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
    this.logs.complete();
    this.alerts.complete();
  }

  /**
   * How to decode `value` when a client first needs it: Confluent-framed Avro through the registry,
   * anything else as JSON (both topics may carry either). Only the schema lookup happens now (async, once
   * per schema id); the decoding itself is synchronous and deferred. The bytes are copied: KafkaJS hands out
   * views of its whole fetch response, which a record kept for resume must not hold on to.
   */
  private async decoderOf(value: Buffer): Promise<() => unknown> {
    const registry = this.options.registry;
    if (value[0] === CONFLUENT_MAGIC && registry !== undefined) {
      if (value.length < CONFLUENT_HEADER_BYTES)
        return () => {
          throw new DecodeError('invalid_structure', 'truncated Confluent wire-format header');
        };
      const id = value.readInt32BE(1);
      let schema = this.schemas.get(id);
      if (schema === undefined) {
        schema = await registry.getSchema(id);
        this.schemas.set(id, schema);
      }
      const payload = Buffer.from(value.subarray(CONFLUENT_HEADER_BYTES));
      const resolved = schema;
      return () => resolved.fromBuffer(payload) as unknown;
    }
    const text = Buffer.from(value);
    return () => JSON.parse(text.toString('utf8')) as unknown;
  }
}
