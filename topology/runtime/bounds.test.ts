import { BoundTracker, clampRange } from './bounds';

describe('clampRange', () => {
  const w = { partition: 0, low: 10n, high: 100n };

  it('defaults to everything the partition holds', () => {
    expect(clampRange(w, undefined, undefined)).toEqual({ start: 10n, end: 100n });
  });

  it('keeps a range inside the partition', () => {
    expect(clampRange(w, 20n, 50n)).toEqual({ start: 20n, end: 50n });
  });

  it('clamps a start before the low watermark and an end past the high watermark', () => {
    expect(clampRange(w, 0n, 500n)).toEqual({ start: 10n, end: 100n });
  });

  it('never ends before it starts', () => {
    expect(clampRange(w, 60n, 30n)).toEqual({ start: 60n, end: 60n });
    expect(clampRange(w, 200n, undefined)).toEqual({ start: 100n, end: 100n });
  });
});

describe('BoundTracker', () => {
  const ranges = [
    { topic: 'a', partition: 0, start: 0n, end: 10n },
    { topic: 'a', partition: 1, start: 5n, end: 5n },
    { topic: 'b', partition: 0, start: 100n, end: 130n },
  ];

  it('counts progress from the start of each range and is done when every partition reached its end', () => {
    const t = new BoundTracker(ranges, new Map());
    expect(t.progress()).toEqual({ done: 0, total: 40 });
    t.advance('a', 0, 10n);
    expect(t.sourcesDone()).toBe(false);
    t.advance('b', 0, 120n);
    expect(t.progress()).toEqual({ done: 30, total: 40 });
    t.advance('b', 0, 131n); // past the end (a transaction marker): counted up to the end
    expect(t.progress()).toEqual({ done: 40, total: 40 });
    expect(t.sourcesDone()).toBe(true);
  });

  it('resumes from committed offsets and never moves backwards', () => {
    const t = new BoundTracker(ranges, new Map([['b|0', 125n]]));
    expect(t.progress()).toEqual({ done: 25, total: 40 });
    t.advance('b', 0, 110n);
    expect(t.progress()).toEqual({ done: 25, total: 40 });
  });

  it('knows the end of external partitions only', () => {
    const t = new BoundTracker(ranges, new Map([['app-x-repartition|0', 3n]]));
    expect(t.endOf('b', 0)).toBe(130n);
    expect(t.endOf('app-x-repartition', 0)).toBeUndefined();
  });

  it('is done with internal topics once processed up to high watermarks that stood still', () => {
    const t = new BoundTracker(ranges, new Map([['r|0', 3n]]));
    expect(t.internalDone(new Map([['r|0', 3n]]))).toBe(false); // first sight: not known to be stable
    expect(t.internalDone(new Map([['r|0', 3n]]))).toBe(true);
    expect(t.internalDone(new Map([['r|0', 7n]]))).toBe(false); // moved
    expect(t.internalDone(new Map([['r|0', 7n]]))).toBe(false); // stable, not processed yet
    t.advance('r', 0, 7n);
    expect(t.internalDone(new Map([['r|0', 7n]]))).toBe(true);
  });
});
