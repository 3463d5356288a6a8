import { randomUUID } from 'node:crypto';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Consumer, Kafka } from 'kafkajs';
import { Subject, type Observable } from 'rxjs';
import type { Logger } from '../../common/logger';
import type { Alert, LogRecord } from '../../processors/records';
import type { LiveFeed, ProbeResult } from '../deps';

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

/**
 * The process's one consumer of enriched logs and alerts, feeding the API's live streams. It joins a
 * consumer group of its own (unique per process) from the latest offsets, and never commits: a live tail
 * shows what happens from now on, history is served from ClickHouse.
 */
export class KafkaLiveFeed implements LiveFeed {
  private readonly logs = new Subject<LogRecord>();
  private readonly alerts = new Subject<Alert>();
  readonly logs$: Observable<LogRecord> = this.logs.asObservable();
  readonly alerts$: Observable<Alert> = this.alerts.asObservable();
  private readonly consumer: Consumer;
  private assigned = false;

  constructor(private readonly options: KafkaLiveFeedOptions) {
    this.consumer = options.kafka.consumer({
      groupId: `${options.groupPrefix}-live-${randomUUID()}`,
      // disconnect() waits for the fetch in flight, which an idle broker holds for maxWaitTimeInMs (5 s by
      // default): a short wait keeps shutdown quick, at the cost of one cheap empty fetch a second when idle.
      maxWaitTimeInMs: 1_000,
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => {
      this.assigned = Object.keys(e.payload.memberAssignment).length > 0;
    });
    this.consumer.on(this.consumer.events.CRASH, () => {
      this.assigned = false;
    });
  }

  async start(): Promise<void> {
    const logsTopic = this.options.logsTopic ?? 'stacklens-enriched';
    const alertsTopic = this.options.alertsTopic ?? 'stacklens-alerts';
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [logsTopic, alertsTopic], fromBeginning: false });
    await this.consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, message }) => {
        if (message.value === null) return;
        try {
          const value = await this.decode(message.value);
          if (topic === logsTopic) this.logs.next(value as LogRecord);
          else this.alerts.next(value as Alert);
        } catch (error) {
          // A record the API cannot show is skipped, not retried: the pipeline owns its correctness.
          this.options.logger.warn(
            { topic, offset: message.offset, err: (error as Error).message },
            'live feed skipped an undecodable record',
          );
        }
      },
    });
  }

  /** Readiness: the live consumer has partitions assigned. */
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

  /** Confluent-framed Avro through the registry, anything else as JSON (both topics may carry either). */
  private async decode(value: Buffer): Promise<unknown> {
    if (value[0] === CONFLUENT_MAGIC && this.options.registry !== undefined)
      return this.options.registry.decode(value);
    return JSON.parse(value.toString('utf8')) as unknown;
  }
}
