import { readFileSync } from 'node:fs';

/**
 * patches/kafkajs+2.2.4.patch (applied by `npm install`'s postinstall) makes kafkajs group a send's
 * messages by partition in linear time. Upstream copies the partition's array for every message
 * (tulios/kafkajs#1576, open; kafkajs is in maintenance mode): quadratic in the messages a send puts
 * on one partition, ~6 ms of main thread per send of 2,700 messages (the pattern rows' sends).
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
