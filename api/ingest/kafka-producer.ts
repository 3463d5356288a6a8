import type { Producer } from 'kafkajs';
import type { IngestMessage, IngestProducer } from '../deps';

/**
 * IngestProducer over a connected kafkajs Producer. Sends with acks=all so a request is answered only
 * once the messages are replicated; the producer should be idempotent (`kafka.producer({ idempotent: true })`)
 * so its own retries cannot duplicate. It must not be the runtime's transactional producer.
 */
export function kafkaIngestProducer(producer: Producer): IngestProducer {
  return {
    async produce(topic: string, messages: readonly IngestMessage[]): Promise<void> {
      await producer.send({
        topic,
        acks: -1,
        messages: messages.map((m) => ({ key: m.key ?? null, value: m.value, headers: m.headers })),
      });
    },
  };
}
