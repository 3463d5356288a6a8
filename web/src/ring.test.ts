import { NewestFirst } from './ring';

describe('NewestFirst', () => {
  it('shows queued items only after a flush, newest first', () => {
    const ring = new NewestFirst<number>(5);
    ring.push(1);
    ring.push(2);
    expect(ring.view).toEqual([]);
    expect(ring.flush()).toBe(true);
    expect(ring.view).toEqual([2, 1]);
    expect(ring.flush()).toBe(false);
  });

  it('keeps the newest capacity items and counts the others', () => {
    const ring = new NewestFirst<number>(3);
    for (let i = 1; i <= 2; i++) ring.push(i);
    ring.flush();
    for (let i = 3; i <= 10; i++) ring.push(i);
    ring.flush();
    expect(ring.view).toEqual([10, 9, 8]);
    expect(ring.dropped).toBe(7);
    ring.clear();
    expect(ring.view).toEqual([]);
  });
});
