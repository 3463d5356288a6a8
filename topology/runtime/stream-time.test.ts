import type { Admin } from 'kafkajs';
import { committedStreamTimes, encodeStreamTime } from './stream-time';

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
    const times = await committedStreamTimes(admin, 'g', ['t']);
    expect([...times]).toEqual([
      ['t|0', 1234],
      ['t|1', Number.NEGATIVE_INFINITY],
      ['t|2', Number.NEGATIVE_INFINITY],
    ]);
  });
});
