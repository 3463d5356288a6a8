import type { RawRecord } from '../processor/record';
import { PartitionGroup, TASK_IDLE_DISABLED, type BufferedRecord } from './partition-group';

function records(topic: string, entries: readonly [offset: number, timestamp: number][]): BufferedRecord[] {
  return entries.map(([offset, timestamp]) => {
    const raw: RawRecord = {
      topic,
      partition: 0,
      offset: String(offset),
      key: null,
      value: null,
      timestamp,
      headers: {},
    };
    return { raw, timestamp };
  });
}

const fetched = (lag: number, fetchedUpTo?: bigint) => ({ lag, fetchedUpTo });

/** Takes records while the group is ready, as a task does: `topic@offset` in processing order. */
function drain(group: PartitionGroup, now = 0): string[] {
  const taken: string[] = [];
  while (group.readyToProcess(now)) {
    const next = group.next();
    if (next === undefined) break;
    taken.push(`${next.raw.topic}@${next.raw.offset}`);
  }
  return taken;
}

describe('PartitionGroup', () => {
  const options = { maxTaskIdleMs: 0, maxBufferedRecords: 1_000 };

  it('processes the lowest head timestamp next across partitions, offsets in order within one', () => {
    const group = new PartitionGroup(['a', 'b'], options);
    group.add(
      'a',
      records('a', [
        [0, 10],
        [1, 30],
        [2, 50],
      ]),
      fetched(0),
    );
    group.add(
      'b',
      records('b', [
        [0, 20],
        [1, 40],
        [2, 60],
      ]),
      fetched(0),
    );
    expect(drain(group)).toEqual(['a@0', 'b@0', 'a@1', 'b@1', 'a@2', 'b@2']);
  });

  it('gives the same order whichever partition was fetched first, ties going by topic name', () => {
    const inOrder = new PartitionGroup(['left', 'right'], options);
    inOrder.add(
      'left',
      records('left', [
        [0, 5],
        [1, 7],
      ]),
      fetched(0),
    );
    inOrder.add(
      'right',
      records('right', [
        [0, 5],
        [1, 6],
      ]),
      fetched(0),
    );
    const reversed = new PartitionGroup(['left', 'right'], options);
    reversed.add(
      'right',
      records('right', [
        [0, 5],
        [1, 6],
      ]),
      fetched(0),
    );
    reversed.add(
      'left',
      records('left', [
        [0, 5],
        [1, 7],
      ]),
      fetched(0),
    );
    expect(drain(reversed)).toEqual(drain(inOrder));
    expect(drain(inOrder)).toEqual([]);
  });

  it('keeps offset order within a partition even when a later record has an earlier timestamp', () => {
    const group = new PartitionGroup(['a', 'b'], options);
    group.add(
      'a',
      records('a', [
        [0, 50],
        [1, 10],
      ]),
      fetched(0),
    );
    group.add('b', records('b', [[0, 20]]), fetched(0));
    // b@0 (20) goes before a@0 (50); a@1 (10) cannot go before its predecessor.
    expect(drain(group)).toEqual(['b@0', 'a@0', 'a@1']);
  });

  it('waits for a partition whose lag is unknown or positive (max.task.idle.ms 0)', () => {
    const group = new PartitionGroup(['a', 'b'], options);
    group.add('a', records('a', [[0, 10]]), fetched(0));
    expect(group.readyToProcess(0)).toBe(false); // b never fetched: its lag is unknown
    group.updateLag('b', 3);
    expect(group.readyToProcess(0)).toBe(false); // b has records on the broker
    group.add('b', records('b', [[0, 5]]), fetched(2));
    expect(drain(group)).toEqual(['b@0']); // then a@0 waits: b is empty with lag 2
    group.updateLag('b', 0);
    expect(group.enforced).toBe(0);
    expect(drain(group)).toEqual(['a@0']); // b caught up: enforced processing at once
    expect(group.enforced).toBe(1);
  });

  it('waits max.task.idle.ms for an empty partition known to be caught up, from when it was found so', () => {
    const group = new PartitionGroup(['a', 'b'], { ...options, maxTaskIdleMs: 1_000 });
    group.add(
      'a',
      records('a', [
        [0, 10],
        [1, 11],
      ]),
      fetched(0),
    );
    group.updateLag('b', 0);
    expect(group.readyToProcess(5_000)).toBe(false);
    expect(group.readyToProcess(5_999)).toBe(false);
    expect(drain(group, 6_000)).toEqual(['a@0', 'a@1']);
    // Data on b restarts the wait the next time b is empty.
    group.add('b', records('b', [[0, 20]]), fetched(0));
    group.add('a', records('a', [[2, 30]]), fetched(0));
    expect(drain(group, 7_000)).toEqual(['b@0']);
    expect(group.readyToProcess(7_500)).toBe(false);
    expect(drain(group, 8_000)).toEqual(['a@2']);
  });

  it('never waits when max.task.idle.ms is -1', () => {
    const group = new PartitionGroup(['a', 'b'], { ...options, maxTaskIdleMs: TASK_IDLE_DISABLED });
    group.add('a', records('a', [[0, 10]]), fetched(5));
    expect(drain(group)).toEqual(['a@0']);
  });

  it('never waits for a partition at the end of a bounded run, whatever its lag said', () => {
    const group = new PartitionGroup(['a', 'b'], options);
    group.add('b', records('b', [[0, 1]]), fetched(7));
    group.end('b');
    group.add('a', records('a', [[0, 10]]), fetched(4));
    // b's lag of 7 was past the run's end: a@0 does not wait for b once b is empty.
    expect(drain(group)).toEqual(['b@0', 'a@0']);
    // The other way round, b waits for a, whose lag is 4.
    group.add('b', records('b', [[1, 2]]), fetched(0));
    expect(group.readyToProcess(0)).toBe(false);
  });

  it('an initial lag looked up at creation does not overwrite a lag a fetch reported', () => {
    const group = new PartitionGroup(['a', 'b'], options);
    group.add('a', records('a', [[0, 10]]), fetched(0));
    group.updateLag('b', 2);
    group.initialLag('b', 0);
    expect(group.readyToProcess(0)).toBe(false);
    const fresh = new PartitionGroup(['a', 'b'], options);
    fresh.initialLag('b', 0);
    fresh.add('a', records('a', [[0, 10]]), fetched(0));
    expect(drain(fresh)).toEqual(['a@0']);
  });

  it('a single partition is processed as it comes, lag or not', () => {
    const group = new PartitionGroup(['only'], options);
    expect(group.synchronizes).toBe(false);
    group.add(
      'only',
      records('only', [
        [0, 30],
        [1, 10],
      ]),
      fetched(100),
    );
    expect(drain(group)).toEqual(['only@0', 'only@1']);
    expect(group.readyToProcess(0)).toBe(false);
  });

  it('reports a queue over its bound, and when it is back at it', () => {
    const group = new PartitionGroup(['a', 'b'], { ...options, maxBufferedRecords: 2 });
    expect(
      group.add(
        'a',
        records('a', [
          [0, 1],
          [1, 2],
        ]),
        fetched(0),
      ),
    ).toBe(false);
    expect(group.add('a', records('a', [[2, 3]]), fetched(0))).toBe(true);
    group.updateLag('b', 0);
    expect(group.atBound('a')).toBe(false);
    group.next();
    expect(group.atBound('a')).toBe(true);
    expect(group.size('a')).toBe(2);
    expect(group.buffered).toBe(2);
  });

  it('tells where a partition resumes when its buffer is forgotten, and how far its fetches went', () => {
    const group = new PartitionGroup(['a', 'b'], options);
    group.add(
      'a',
      records('a', [
        [4, 1],
        [5, 2],
        [6, 3],
      ]),
      fetched(0, 8n),
    );
    group.add('b', records('b', [[9, 5]]), fetched(0, 10n));
    expect([group.next()?.raw.offset, group.next()?.raw.offset]).toEqual(['4', '5']);
    // Unprocessed records are never covered by the committed offset: fetching restarts at them.
    expect(group.heads()).toEqual([
      { topic: 'a', offset: '6' },
      { topic: 'b', offset: '9' },
    ]);
    expect(group.fetchedUpTo('a')).toBe(8n);
    group.clear();
    expect(group.buffered).toBe(0);
    expect(group.heads()).toEqual([]);
    // The lags of partitions that had records buffered are forgotten: their next fetches tell again.
    group.add('a', records('a', [[6, 3]]), fetched(0));
    expect(group.readyToProcess(0)).toBe(false);
  });

  it('keeps the lag of a partition with nothing buffered across a clear, so an empty input does not hold the task for ever', () => {
    const group = new PartitionGroup(['a', 'b'], options);
    group.add('a', records('a', [[1, 1]]), fetched(0));
    group.initialLag('b', 0);
    expect(group.readyToProcess(0)).toBe(true);
    group.clear();
    // After a rebalance kafkajs fetches `a` again; `b` is at its end and no fetch will report on it.
    group.add('a', records('a', [[1, 1]]), fetched(0));
    expect(group.readyToProcess(0)).toBe(true);
    expect(group.next()?.raw.offset).toBe('1');
  });

  it('drains a long queue in order (popped entries are trimmed in bulk)', () => {
    const group = new PartitionGroup(['a'], { ...options, maxBufferedRecords: 10_000 });
    const many = Array.from({ length: 5_000 }, (_, i) => [i, i] as [number, number]);
    group.add('a', records('a', many), fetched(0));
    const taken = drain(group);
    expect(taken).toHaveLength(5_000);
    expect(taken[4_999]).toBe('a@4999');
    expect(taken.every((t, i) => t === `a@${i}`)).toBe(true);
  });
});
