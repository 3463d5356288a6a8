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

/** Approximate size of a record in memory, for the in-flight bytes bound. */
export function recordBytes(record: { key: Buffer | null; value: Buffer | null }): number {
  return (record.key?.length ?? 0) + (record.value?.length ?? 0) + 64;
}

/**
 * Upper estimate of a record's size in a produce request's record batch: key, value, header names
 * and values, plus 64 bytes for the record's varint fields and its share of the batch header.
 */
export function producedBytes(record: ProducedRecord): number {
  let bytes = recordBytes(record);
  for (const [name, value] of Object.entries(record.headers)) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value) + 8;
  }
  return bytes;
}
