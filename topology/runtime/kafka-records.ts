import type { IHeaders, KafkaMessage, Message } from 'kafkajs';
import type { Headers, ProducedRecord, RawRecord } from '../processor/record';

/** kafkajs message -> RawRecord. Binary header values are decoded as UTF-8; repeated headers keep the first. */
export function toRawRecord(topic: string, partition: number, message: KafkaMessage): RawRecord {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key,
    value: message.value,
    timestamp: Number(message.timestamp),
    headers: decodeHeaders(message.headers),
  };
}

export function decodeHeaders(headers: IHeaders | undefined): Headers {
  const result: Record<string, string> = {};
  for (const [name, raw] of Object.entries(headers ?? {})) {
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (value !== undefined) result[name] = value.toString();
  }
  return result;
}

export function toMessage(record: ProducedRecord): Message {
  return {
    key: record.key,
    value: record.value,
    partition: record.partition,
    timestamp: String(Math.trunc(record.timestamp)),
    headers: { ...record.headers },
  };
}

/** Groups records by topic, keeping their order, as kafkajs sendBatch wants them. */
export function topicMessages(records: readonly ProducedRecord[]): { topic: string; messages: Message[] }[] {
  const byTopic = new Map<string, Message[]>();
  for (const record of records) {
    const messages = byTopic.get(record.topic) ?? [];
    messages.push(toMessage(record));
    byTopic.set(record.topic, messages);
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}
