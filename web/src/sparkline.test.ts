import { bucketSeries, sparkPoints } from './sparkline';

const at = (s: number) => new Date(Date.UTC(2026, 11, 1, 10, 0, s)).toISOString();

describe('bucketSeries', () => {
  it('fills the buckets without lines with zeros', () => {
    const buckets = [
      { start: at(0), count: 3 },
      { start: at(20), count: 1 },
      { start: at(30), count: 5 },
    ];
    expect(bucketSeries(buckets, 10_000, 60)).toEqual([3, 0, 1, 5]);
  });

  it('keeps only the newest slots', () => {
    const buckets = [
      { start: at(0), count: 3 },
      { start: at(30), count: 5 },
    ];
    expect(bucketSeries(buckets, 10_000, 2)).toEqual([0, 5]);
    expect(bucketSeries([], 10_000, 2)).toEqual([]);
  });
});

describe('sparkPoints', () => {
  it('scales the largest value to the top of the box', () => {
    expect(sparkPoints([0, 2, 4], 100, 20)).toBe('0.0,20.0 50.0,10.0 100.0,0.0');
    expect(sparkPoints([7], 100, 20)).toBe('0.0,0.0');
  });
});
