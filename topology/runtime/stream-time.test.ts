import type { Admin } from 'kafkajs';
import { committedPositions, encodeStreamTime } from './stream-time';

describe('stream time in offset metadata', () => {
  it('encodes finite stream times only and decodes what it encoded, ignoring foreign metadata', async () => {
    expect(encodeStreamTime(Number.NEGATIVE_INFINITY)).toBeNull();
    const admin = {
      fetchOffsets: async () => [
        {
          topic: 't',
          partitions: [
            { partition: 0, offset: '10', metadata: encodeStreamTime(1234) },
            { partition: 1, offset: '5', metadata: 'written by another tool' },
            { partition: 2, offset: '-1', metadata: null },
          ],
        },
      ],
    } as unknown as Admin;
    const positions = await committedPositions(admin, 'g', ['t']);
    expect([...positions]).toEqual([
      ['t|0', { offset: 10n, streamTime: 1234 }],
      ['t|1', { offset: 5n, streamTime: Number.NEGATIVE_INFINITY }],
      ['t|2', { offset: -1n, streamTime: Number.NEGATIVE_INFINITY }],
    ]);
  });
});
