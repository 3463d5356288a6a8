import { OffsetTracker } from './offset-tracker';

describe('OffsetTracker', () => {
  it('commits up to the lowest offset with a delivery still open', () => {
    const tracker = new OffsetTracker();
    tracker.add(0, '10', 2);
    tracker.add(0, '11', 1);
    tracker.add(0, '12', 0);
    expect(tracker.committable()).toEqual([{ partition: 0, offset: '10' }]);
    tracker.complete(0, '11');
    tracker.complete(0, '10');
    expect(tracker.committable()).toEqual([{ partition: 0, offset: '10' }]);
    expect(tracker.open).toBe(1);
    tracker.complete(0, '10');
    expect(tracker.committable()).toEqual([{ partition: 0, offset: '13' }]);
    expect(tracker.open).toBe(0);
  });

  it('reports only positions that moved since they were committed, per partition', () => {
    const tracker = new OffsetTracker();
    tracker.add(0, '0', 0);
    tracker.add(1, '5', 1);
    const first = tracker.committable();
    expect(first).toEqual([
      { partition: 0, offset: '1' },
      { partition: 1, offset: '5' },
    ]);
    tracker.committed(first);
    expect(tracker.committable()).toEqual([]);
    tracker.complete(1, '5');
    expect(tracker.committable()).toEqual([{ partition: 1, offset: '6' }]);
  });

  it('counts an offset read twice (after a rebalance) until both reads finish', () => {
    const tracker = new OffsetTracker();
    tracker.add(0, '3', 1);
    tracker.add(0, '3', 1);
    tracker.complete(0, '3');
    expect(tracker.committable()).toEqual([{ partition: 0, offset: '3' }]);
    tracker.complete(0, '3');
    expect(tracker.committable()).toEqual([{ partition: 0, offset: '4' }]);
  });
});
