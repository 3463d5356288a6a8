import type { IHeaders, Producer } from 'kafkajs';
import type { Alert } from '../../processors/records';

/** A delivery given up on: what, to whom, after how many attempts, and why. */
export interface DeliveryDeadLetter {
  receiver: string;
  alert: Alert;
  step: 'send' | 'create' | 'comment';
  attempts: number;
  reason: string;
}

/**
 * The delivery dead-letter topic. A dead letter's value is JSON (operators read it and may produce the
 * alert again); `stacklens.error` carries the reason, as on the pipeline's DLQ.
 */
export class DeadLetterWriter {
  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
  ) {}

  async deliveryFailed(letter: DeliveryDeadLetter, now: Date): Promise<void> {
    await this.send(
      `${letter.receiver}/${letter.alert.id}`,
      Buffer.from(JSON.stringify({ ...letter, failed_at: now.toISOString() })),
      {
        'stacklens.error': letter.reason,
        'stacklens.receiver': letter.receiver,
      },
    );
  }

  /** An alert record that could not be decoded, kept as it was with where it came from. */
  async undecodable(
    source: { topic: string; partition: number; offset: string; key: Buffer | null; value: Buffer | null },
    reason: string,
  ): Promise<void> {
    await this.send(source.key, source.value, {
      'stacklens.error': reason,
      'stacklens.source': `${source.topic}:${source.partition}:${source.offset}`,
    });
  }

  private async send(key: string | Buffer | null, value: Buffer | null, headers: IHeaders): Promise<void> {
    await this.producer.send({ topic: this.topic, acks: -1, messages: [{ key, value, headers }] });
  }
}
