import { readFileSync } from 'node:fs';

/**
 * patches/kafkajs+2.2.4.patch (applied by `npm install`'s postinstall; kafkajs is in maintenance mode):
 * - groups a send's messages by partition in linear time. Upstream copies the partition's array for
 *   every message (tulios/kafkajs#1576, open): quadratic in the messages a send puts on one partition,
 *   ~6 ms of main thread per send of 2,700 messages (the pattern rows' sends);
 * - encodes a produce request with a third of the CPU (bench/kafkajs-encode.ts): encoders no longer
 *   zero-fill buffers that are written before they are read, records and batches are sized up front
 *   instead of grown by doubling copies, a record no longer copies its message's every property, and
 *   the batch CRC32-C is computed natively by @node-rs/crc32 instead of a byte-at-a-time table loop.
 */
const modulePath = require.resolve('kafkajs/src/producer/groupMessagesPerPartition');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const groupMessagesPerPartition = require(modulePath) as (args: {
  topic: string;
  partitionMetadata: { partitionId: number }[];
  messages: { partition: number; value: string }[];
  partitioner: (args: { message: { partition: number } }) => number;
}) => Record<string, { partition: number; value: string }[]>;

describe('kafkajs as installed', () => {
  it('groups messages by partition in place, without copying the partition array per message', () => {
    const source = readFileSync(modulePath, 'utf8');
    expect(source).toContain('current.push(message)');
    expect(source).not.toContain('[...current, message]');
  });

  it('keeps each partition’s messages in send order', () => {
    const messages = Array.from({ length: 10 }, (_, i) => ({ partition: i % 3, value: `m${i}` }));
    const grouped = groupMessagesPerPartition({
      topic: 't',
      partitionMetadata: [{ partitionId: 0 }, { partitionId: 1 }, { partitionId: 2 }],
      messages,
      partitioner: ({ message }) => message.partition,
    });
    expect(Object.keys(grouped).sort()).toEqual(['0', '1', '2']);
    expect(grouped['0']!.map((m) => m.value)).toEqual(['m0', 'm3', 'm6', 'm9']);
    expect(grouped['1']!.map((m) => m.value)).toEqual(['m1', 'm4', 'm7']);
  });
});

type Long = { toString(): string };
interface EncodedRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer>;
}
/* eslint-disable @typescript-eslint/no-require-imports -- kafkajs's internal protocol modules, untyped */
const crc32C = require('kafkajs/src/protocol/recordBatch/crc32C') as (buffer: Buffer) => number;
const Record = require('kafkajs/src/protocol/recordBatch/record/v0') as (record: {
  offsetDelta: number;
  timestampDelta: number;
  key: Buffer;
  value: Buffer;
  headers: Record<string, string>;
}) => { buffer: Buffer };
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as {
  RecordBatch: (batch: {
    records: { buffer: Buffer }[];
    firstTimestamp: number;
    maxTimestamp: number;
    transactional: boolean;
  }) => Promise<{ buffer: Buffer }>;
};
const decodeRecordBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (
  decoder: unknown,
) => Promise<{ records: EncodedRecord[]; inTransaction: boolean; maxTimestamp: Long }>;
const Decoder = require('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => unknown;
/* eslint-enable @typescript-eslint/no-require-imports */

/** CRC32-C bit by bit, straight from its definition (reflected polynomial 0x82F63B78): the oracle. */
function crc32cOracle(bytes: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

describe('kafkajs record batches as installed', () => {
  it('are encoded by the patched modules', () => {
    const source = (module: string): string => readFileSync(require.resolve(module), 'utf8');
    expect(source('kafkajs/src/protocol/encoder')).not.toContain('Buffer.alloc(');
    expect(source('kafkajs/src/protocol/recordBatch/crc32C/crc32C')).toContain("require('@node-rs/crc32')");
    expect(source('kafkajs/src/protocol/requests/produce/v3/request')).not.toContain('...message,');
  });

  it('checksums with CRC32-C: the standard check value and the bitwise definition', () => {
    expect(crc32C(Buffer.from('123456789'))).toBe(0xe3069283);
    const bytes = Buffer.from(Array.from({ length: 4099 }, (_, i) => (i * 31 + 7) & 0xff));
    expect(crc32C(bytes)).toBe(crc32cOracle(bytes));
    expect(crc32C(Buffer.alloc(0))).toBe(0);
  });

  it('encodes a batch that decodes to its records, exactly as long as its content, with a valid CRC', async () => {
    const values = [Buffer.alloc(0), Buffer.from('x'), Buffer.alloc(5000, 'v'), Buffer.from('é✓')];
    const records = values.map((value, i) =>
      Record({
        offsetDelta: i,
        timestampDelta: i * 10,
        key: Buffer.from(`key-${i}`),
        value,
        headers: { h: `header-${i}` },
      }),
    );
    const encoded = (
      await RecordBatch({ records, firstTimestamp: 1_000, maxTimestamp: 1_030, transactional: true })
    ).buffer;

    // firstOffset (8) and length (4), then the batch: its length is exactly what was written.
    const length = encoded.readInt32BE(8);
    expect(encoded.length).toBe(12 + length);
    // partitionLeaderEpoch (4), magic (1), CRC (4), then the CRC covers the rest of the batch.
    expect(encoded.readUInt32BE(17)).toBe(crc32cOracle(encoded.subarray(21)));

    const decoded = await decodeRecordBatch(new Decoder(encoded));
    expect(decoded.inTransaction).toBe(true);
    expect(decoded.maxTimestamp.toString()).toBe('1030');
    expect(decoded.records.map((r) => [r.key?.toString(), r.value, r.headers.h?.toString()])).toEqual(
      values.map((value, i) => [`key-${i}`, value, `header-${i}`]),
    );
  });
});
