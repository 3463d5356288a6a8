import { DueIndex } from './due-index';

describe('DueIndex', () => {
  it('gives the keys due by a time, earliest first and by key on ties, whatever order they were set in', () => {
    const index = new DueIndex(1_000);
    index.set('c', 2_500);
    index.set('b', 1_200);
    index.set('a', 2_500);
    index.set('d', 9_000);
    expect(index.dueBy(999)).toEqual([]);
    expect(index.dueBy(2_499)).toEqual(['b']);
    expect(index.dueBy(2_500)).toEqual(['b', 'a', 'c']);
    expect(index.dueBy(10_000)).toEqual(['b', 'a', 'c', 'd']);
    expect(index.size).toBe(4);
  });

  it('moves a key whose due time changes, within its bucket or to another, and forgets a deleted one', () => {
    const index = new DueIndex(1_000);
    index.set('a', 1_100);
    index.set('a', 1_900);
    expect(index.dueBy(1_500)).toEqual([]);
    index.set('a', 5_000);
    expect(index.dueBy(4_999)).toEqual([]);
    expect(index.dueBy(5_000)).toEqual(['a']);
    index.delete('a');
    index.delete('never-set');
    expect(index.dueBy(1_000_000)).toEqual([]);
    expect(index.size).toBe(0);
  });
});
