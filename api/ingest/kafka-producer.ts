import { KafkaJSProtocolError, type Producer, type Transaction } from 'kafkajs';
import { StackLensError } from '../../common/errors';
import type { IngestMessage, IngestProducer } from '../deps';

/**
 * Ingest could not store a request; `definite` tells whether it is certain nothing of it is visible.
 * `tooLarge`: the broker refused a message of this request alone as over its size limit, which no retry
 * changes (INGEST_MAX_MESSAGE_BYTES is above the topic's max.message.bytes).
 */
export class IngestNotStoredError extends StackLensError {
  constructor(
    message: string,
    readonly definite: boolean,
    options?: { cause?: unknown },
    readonly tooLarge = false,
  ) {
    super(message, options);
  }
}

export interface KafkaIngestProducerOptions {
  /** How long the broker may take to acknowledge a send (its replication wait), in ms. */
  ackTimeoutMs: number;
  /** Largest total of message bytes in one send, so no partition's record batch passes the broker's limit. */
  maxSendBytes: number;
}

interface Pending {
  topic: string;
  messages: readonly IngestMessage[];
  resolve(): void;
  reject(error: Error): void;
}

const size = (m: IngestMessage) =>
  typeof m.value === 'string' ? Buffer.byteLength(m.value) : m.value.length;

/** The broker refused a record batch for its size (KafkaJSProtocolError carries the Kafka error name). */
function isTooLarge(error: unknown): boolean {
  if (!(error instanceof IngestNotStoredError) || !(error.cause instanceof KafkaJSProtocolError))
    return false;
  return error.cause.type === 'MESSAGE_TOO_LARGE' || error.cause.type === 'RECORD_LIST_TOO_LARGE';
}

/** An IngestProducer that owns its Kafka producer: connect before serving, disconnect when done. */
export interface KafkaIngestProducer extends IngestProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
}

/**
 * IngestProducer over kafkajs producers made by `create`, each with the same `transactionalId` (and so
 * idempotent, one request in flight), used by nothing else.
 *
 * Why transactions: an HTTP client retries what it was told failed (503). With a plain producer a send
 * that timed out on our side may still be appended, so the retry would store the request twice. Here
 * every request's messages are produced inside a transaction and the request is answered on the
 * transaction's definite outcome, never on a timer:
 * - commit resolved: stored (200);
 * - anything failed before the commit was sent: the transaction is aborted, so nothing of it is ever
 *   visible to the pipeline, which reads read_committed; a retry cannot duplicate (503, `definite`);
 * - the commit itself failed without an answer: the one case whose outcome is unknown (503, not
 *   `definite`); only a lost answer to the final commit request leads there.
 * When an abort or a commit fails, kafkajs leaves the producer in a state where no transaction can
 * begin again, so it is replaced by a new one with the same transactional id: initializing that one
 * fences the old and makes the coordinator finish or abort whatever transaction the old left open.
 * Requests that arrive while a transaction is open wait and share the next one (group commit), so one
 * producer serves every ingest request with a commit per group, not per request. A group whose send
 * is refused for size is retried request by request, so only the request at fault fails.
 */
export function kafkaIngestProducer(
  create: () => Producer,
  options: KafkaIngestProducerOptions,
): KafkaIngestProducer {
  const queue: Pending[] = [];
  let running = false;
  let producer = create();
  /** False once the current producer needs connecting (at start, and after a replacement). */
  let connected = false;

  const replace = async () => {
    const old = producer;
    producer = create();
    connected = false;
    await old.disconnect().catch(() => undefined);
  };

  /** Sends of at most maxSendBytes (one message alone when it is larger), in order. */
  const sends = (group: readonly Pending[]) => {
    const out: { topic: string; messages: IngestMessage[]; bytes: number }[] = [];
    for (const pending of group) {
      for (const message of pending.messages) {
        const last = out[out.length - 1];
        const bytes = size(message);
        if (
          last !== undefined &&
          last.topic === pending.topic &&
          last.bytes + bytes <= options.maxSendBytes
        ) {
          last.messages.push(message);
          last.bytes += bytes;
        } else out.push({ topic: pending.topic, messages: [message], bytes });
      }
    }
    return out;
  };

  const runTransaction = async (group: readonly Pending[]): Promise<void> => {
    let transaction: Transaction | undefined;
    try {
      if (!connected) {
        await producer.connect();
        connected = true;
      }
      transaction = await producer.transaction();
      for (const send of sends(group)) {
        await transaction.send({
          topic: send.topic,
          acks: -1,
          timeout: options.ackTimeoutMs,
          messages: send.messages.map((m) => ({ key: m.key ?? null, value: m.value, headers: m.headers })),
        });
      }
    } catch (error) {
      // The commit was never sent: aborting leaves nothing visible. If the abort fails too, the
      // replacement producer's initialization aborts the transaction (or the coordinator's timeout does).
      const notStored = new IngestNotStoredError(`not stored: ${(error as Error).message}`, true, {
        cause: error,
      });
      const aborted =
        transaction === undefined ||
        (await transaction.abort().then(
          () => true,
          () => false,
        ));
      // Only a refusal for size leaves the producer as it was; after anything else (a broker gone, a
      // fenced or failed producer) a fresh one starts clean.
      if (!aborted || !isTooLarge(notStored)) await replace();
      throw notStored;
    }
    try {
      await transaction.commit();
    } catch (error) {
      await replace();
      throw new IngestNotStoredError(`commit outcome unknown: ${(error as Error).message}`, false, {
        cause: error,
      });
    }
  };

  const settle = async (group: readonly Pending[]) => {
    try {
      await runTransaction(group);
      for (const p of group) p.resolve();
    } catch (error) {
      if (isTooLarge(error)) {
        if (group.length > 1) {
          for (const p of group) await settle([p]);
          return;
        }
        const cause = error as IngestNotStoredError;
        group[0]!.reject(new IngestNotStoredError(cause.message, true, { cause: cause.cause }, true));
        return;
      }
      for (const p of group) p.reject(error as Error);
    }
  };

  const drain = async () => {
    if (running) return;
    running = true;
    try {
      while (queue.length > 0) await settle(queue.splice(0));
    } finally {
      running = false;
    }
  };

  return {
    async connect() {
      await producer.connect();
      connected = true;
    },
    disconnect: () => producer.disconnect(),
    produce(topic: string, messages: readonly IngestMessage[]): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        queue.push({ topic, messages, resolve, reject });
        void drain();
      });
    },
  };
}
