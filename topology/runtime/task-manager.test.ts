import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KafkaJSProtocolError, type Admin } from 'kafkajs';
import { Registry } from 'prom-client';
import { createLogger, type Logger } from '../../common/logger';
import { TopologyMetrics } from '../metrics';
import type { StreamTask } from '../processor/stream-task';
import { joinWindows, keyValueStoreSpec, TopologyBuilder } from '../index';
import { repartitionTopicName, type Topology } from '../topology';
import { withOffsetLookupRetries } from './start-retrying';
import { Checkpoint } from './checkpoint';
import { GroupMembership } from './group-membership';
import { resolveOptions } from './options';
import { planPartitions, type PartitionPlan } from './partition-plan';
import { encodeStreamTime } from './stream-time';
import { StateDirectoryCleaner } from '../state/state-directory-cleaner';
import { assignedTaskIds, streamTaskCreator, TaskManager } from './task-manager';

const APP = 'tm-app';
const INPUT = 'tm-in';
const REPARTITION = repartitionTopicName(APP, 'by-key');

/** Sub-topology 0 reads INPUT and re-keys into REPARTITION, which sub-topology 1 reads into a store. */
function topology() {
  const builder = new TopologyBuilder();
  builder.addStateStore(keyValueStoreSpec<string, number>('counts'));
  builder
    .stream<string, string>('in', INPUT)
    .selectKey('rekey', (r) => r.value)
    .repartition('by-key')
    .process(
      'count',
      () => ({
        init: () => undefined,
        process: () => undefined,
      }),
      { stores: ['counts'] },
    );
  return builder.build();
}

type Offsets = Awaited<ReturnType<Admin['fetchOffsets']>>;

/** The runtime's own task creator for `t`, with default options and a fresh checkpoint per task. */
function taskCreator(t: Topology, plan: PartitionPlan, log: Logger) {
  return streamTaskCreator({
    topology: t,
    options: resolveOptions({
      applicationId: APP,
      instanceId: 'i1',
      brokers: [],
      logger: log,
      registry: new Registry(),
    }),
    plan,
    metrics: new TopologyMetrics(new Registry(), APP),
    log,
    checkpoint: () => new Checkpoint(),
  });
}

/**
 * A TaskManager over real tasks of the topology above, with recording fakes for the restorer (its
 * changelog reads) and the admin client (the group's committed offsets).
 */
function setup(
  committed: Record<string, { offset: string; streamTime?: number }> = {},
  stateCleaner?: StateDirectoryCleaner,
) {
  const log = createLogger({ level: 'silent', format: 'text' });
  const t = topology();
  const plan = planPartitions(t, APP, new Map([[INPUT, 2]]));
  const realTask = taskCreator(t, plan, log);
  const created: StreamTask[] = [];
  const closed: string[] = [];
  const closedTasks: StreamTask[] = [];
  const restored: string[][] = [];
  const offsetReads: string[][] = [];
  const membership = new GroupMembership();
  let commitInFlight: Promise<boolean> | undefined;
  const manager = new TaskManager({
    createTask: (sub, partition) => {
      const task = realTask(sub, partition);
      const close = task.close.bind(task);
      task.close = () => {
        closed.push(task.id);
        closedTasks.push(task);
        close();
      };
      created.push(task);
      return task;
    },
    restorer: {
      restore: async (tasks) => {
        restored.push(tasks.map((task) => task.id).sort());
      },
    },
    admin: {
      fetchOffsets: async ({ topics }): Promise<Offsets> => {
        offsetReads.push([...(topics ?? [])].sort());
        return (topics ?? []).map((topic) => ({
          topic,
          partitions: [0, 1].map((partition) => {
            const c = committed[`${topic}|${partition}`];
            return {
              partition,
              offset: c?.offset ?? '-1',
              metadata: c?.streamTime === undefined ? null : encodeStreamTime(c.streamTime),
            };
          }),
        }));
      },
      // Only a task with several inputs looks its partitions' lags up (partition-group.ts).
      fetchTopicOffsets: async () => {
        throw new Error('a task with one input needs no lag lookup');
      },
    },
    applicationId: APP,
    plan,
    membership,
    log,
    partitionGroup: { maxTaskIdleMs: 0, maxBufferedRecords: 1_000 },
    commitInFlight: () => commitInFlight,
    stateCleaner,
  });
  const keepAlive = async () => undefined;
  return {
    manager,
    created,
    closed,
    closedTasks,
    restored,
    offsetReads,
    membership,
    keepAlive,
    setCommitInFlight: (p: Promise<boolean> | undefined) => {
      commitInFlight = p;
    },
    activeIds: () =>
      manager
        .active()
        .map((task) => task.id)
        .sort(),
  };
}

describe('assignedTaskIds', () => {
  it('gives task p of the sub-topology reading each assigned topic, ignoring topics it does not read', () => {
    const subOf = new Map([
      ['a', 0],
      ['b', 0],
      ['r', 1],
    ]);
    expect([...assignedTaskIds({ a: [0, 1], b: [0, 1], r: [1], other: [0] }, subOf)].sort()).toEqual([
      '0_0',
      '0_1',
      '1_1',
    ]);
  });
});

describe('TaskManager', () => {
  it('creates and restores every assigned task, with the stream time and offset its partitions committed', async () => {
    const { manager, restored, offsetReads, activeIds, keepAlive } = setup({
      [`${INPUT}|1`]: { offset: '42', streamTime: 1_700_000_000_000 },
      [`${REPARTITION}|0`]: { offset: '7' },
    });
    manager.onAssignment('m1', { [INPUT]: [0, 1], [REPARTITION]: [0, 1] });
    expect(manager.assignedCount()).toBe(4);
    // Assigned, not ready: nothing is processed before its stores are restored.
    expect(activeIds()).toEqual([]);
    await manager.ensureTasks(keepAlive);
    expect(restored).toEqual([['0_0', '0_1', '1_0', '1_1']]);
    expect(offsetReads).toEqual([[INPUT, REPARTITION].sort()]);
    expect(activeIds()).toEqual(['0_0', '0_1', '1_0', '1_1']);
    const byId = new Map(manager.active().map((task) => [task.id, task]));
    expect(byId.get('0_1')?.streamTime()).toBe(1_700_000_000_000);
    expect(byId.get('0_0')?.streamTime()).toBe(Number.NEGATIVE_INFINITY);
    // The committed offset is handed out once, for the partition's first fetch; none when there is none.
    expect(manager.takeCommittedAtStart(INPUT, 1)).toBe(42n);
    expect(manager.takeCommittedAtStart(INPUT, 1)).toBeUndefined();
    expect(manager.takeCommittedAtStart(REPARTITION, 0)).toBe(7n);
    expect(manager.takeCommittedAtStart(INPUT, 0)).toBeUndefined();
    // Nothing pending: no more restoration.
    await manager.ensureTasks(keepAlive);
    expect(restored).toHaveLength(1);
  });

  it('on a rebalance closes the revoked tasks, keeps the others and restores only the new ones', async () => {
    const { manager, created, closed, restored, activeIds, keepAlive } = setup();
    manager.onAssignment('m1', { [INPUT]: [0], [REPARTITION]: [0] });
    await manager.ensureTasks(keepAlive);
    const kept = manager.active().find((task) => task.id === '0_0');
    manager.onAssignment('m1', { [INPUT]: [0, 1], [REPARTITION]: [1] });
    expect(closed).toEqual(['1_0']);
    expect(activeIds()).toEqual(['0_0']);
    await manager.ensureTasks(keepAlive);
    expect(restored).toEqual([
      ['0_0', '1_0'],
      ['0_1', '1_1'],
    ]);
    expect(activeIds()).toEqual(['0_0', '0_1', '1_1']);
    expect(manager.active().find((task) => task.id === '0_0')).toBe(kept);
    expect(created.map((task) => task.id)).toEqual(['0_0', '1_0', '0_1', '1_1']);
  });

  it('never creates a task revoked before it was restored', async () => {
    const { manager, created, activeIds, keepAlive } = setup();
    manager.onAssignment('m1', { [INPUT]: [0, 1] });
    manager.onAssignment('m1', { [INPUT]: [1] });
    await manager.ensureTasks(keepAlive);
    expect(created.map((task) => task.id)).toEqual(['0_1']);
    expect(activeIds()).toEqual(['0_1']);
    expect(manager.assignedCount()).toBe(1);
  });

  it('restores every task again when it rejoins as a new member (it was evicted meanwhile)', async () => {
    const { manager, closed, restored, activeIds, keepAlive } = setup();
    manager.onAssignment('m1', { [INPUT]: [0, 1] });
    await manager.ensureTasks(keepAlive);
    manager.onAssignment('m2', { [INPUT]: [0, 1] });
    expect(closed.sort()).toEqual(['0_0', '0_1']);
    expect(activeIds()).toEqual([]);
    await manager.ensureTasks(keepAlive);
    expect(restored).toEqual([
      ['0_0', '0_1'],
      ['0_0', '0_1'],
    ]);
    expect(activeIds()).toEqual(['0_0', '0_1']);
  });

  it('restores a dropped task if it is still assigned, and leaves alone a task that replaced it', async () => {
    const { manager, closedTasks, created, activeIds, keepAlive } = setup();
    manager.onAssignment('m1', { [INPUT]: [0, 1] });
    await manager.ensureTasks(keepAlive);
    const [first] = manager.active().filter((task) => task.id === '0_0');
    manager.dropTask(first!);
    expect(activeIds()).toEqual(['0_1']);
    await manager.ensureTasks(keepAlive);
    const replacement = manager.active().find((task) => task.id === '0_0');
    expect(replacement).not.toBe(first);
    // A late drop of the old instance (its checkpoint failed after the replacement was made).
    manager.dropTask(first!);
    expect(manager.active().find((task) => task.id === '0_0')).toBe(replacement);
    // A task no longer assigned is dropped for good.
    manager.onAssignment('m1', { [INPUT]: [0] });
    const revokedLater = created.find((task) => task.id === '0_1')!;
    manager.dropTask(revokedLater);
    await manager.ensureTasks(keepAlive);
    expect(activeIds()).toEqual(['0_0']);
    expect(closedTasks).not.toContain(replacement);
  });

  it('creates the task of a fetched partition on demand, and restores only once a commit in flight is done', async () => {
    const { manager, restored, setCommitInFlight, keepAlive } = setup();
    let finishCommit!: (ok: boolean) => void;
    setCommitInFlight(new Promise<boolean>((resolve) => (finishCommit = resolve)));
    const task = manager.taskFor(REPARTITION, 1, keepAlive);
    await new Promise((resolve) => setImmediate(resolve));
    // The commit may still add to the changelogs the restoration reads.
    expect(restored).toEqual([]);
    finishCommit(true);
    expect((await task).id).toBe('1_1');
    expect(restored).toEqual([['1_1']]);
  });

  it('reads the committed offsets of new tasks only once the join has settled, heartbeating meanwhile', async () => {
    const { manager, membership, offsetReads } = setup();
    membership.joined();
    manager.onAssignment('m1', { [INPUT]: [0] });
    let heartbeats = 0;
    await manager.ensureTasks(async () => {
      heartbeats += 1;
    });
    expect(offsetReads).toHaveLength(1);
    expect(Date.now() - membership.joinedAt).toBeGreaterThanOrEqual(1_000);
    expect(heartbeats).toBeGreaterThan(0);
  });

  it('deletes the state directories of tasks it has not owned for the cleanup delay, never of assigned ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stacklens-task-state-'));
    try {
      for (const task of ['0_0', '0_1', '1_0', '1_1'])
        mkdirSync(join(dir, task, 'store'), { recursive: true });
      let now = 0;
      const { manager, keepAlive } = setup(
        {},
        new StateDirectoryCleaner({ dir, delayMs: 1_000, clock: () => now }),
      );
      manager.onAssignment('m1', { [INPUT]: [0, 1], [REPARTITION]: [0] });
      await manager.ensureTasks(keepAlive);
      manager.cleanStateDirectories();
      // 1_1 is not ours; 0_1 is revoked later.
      now = 500;
      manager.onAssignment('m1', { [INPUT]: [0], [REPARTITION]: [0] });
      manager.cleanStateDirectories();
      now = 1_000;
      manager.cleanStateDirectories();
      expect(readdirSync(dir).sort()).toEqual(['0_0', '0_1', '1_0']);
      now = 1_500;
      manager.cleanStateDirectories();
      expect(readdirSync(dir).sort()).toEqual(['0_0', '1_0']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('closes every ready task at closeAll', async () => {
    const { manager, closed, activeIds, keepAlive } = setup();
    manager.onAssignment('m1', { [INPUT]: [0, 1] });
    await manager.ensureTasks(keepAlive);
    manager.closeAll();
    expect(closed.sort()).toEqual(['0_0', '0_1']);
    expect(activeIds()).toEqual([]);
  });
});

describe('TaskManager partition groups', () => {
  const LEFT = 'tm-left';
  const RIGHT = 'tm-right';

  /** One sub-topology reading two topics (a join), two partitions each. */
  function twoInputs(
    watermarks: Record<string, { high: number; low: number }>,
    committedLeft: string,
    /** Errors the first lookups fail with, in turn. */
    lookupFailures: unknown[] = [],
  ) {
    const log = createLogger({ level: 'silent', format: 'text' });
    const builder = new TopologyBuilder();
    builder
      .stream<string, number>('left', LEFT)
      .join('joined', builder.stream<string, number>('right', RIGHT), (l, r) => l + r, {
        windows: joinWindows({ timeDifferenceMs: 10, graceMs: 0 }),
      });
    const t = builder.build();
    const plan = planPartitions(
      t,
      APP,
      new Map([
        [LEFT, 2],
        [RIGHT, 2],
      ]),
    );
    const lookups: string[] = [];
    const manager = new TaskManager({
      createTask: taskCreator(t, plan, log),
      restorer: { restore: async () => undefined },
      // As StreamsApp gives it: offset lookups retried while the broker is not ready.
      admin: withOffsetLookupRetries<
        Pick<Admin, 'fetchOffsets' | 'fetchTopicOffsets' | 'fetchTopicOffsetsByTimestamp'>
      >({
        fetchOffsets: async ({ topics }): Promise<Offsets> =>
          (topics ?? []).map((topic) => ({
            topic,
            partitions: [0, 1].map((partition) => ({
              partition,
              offset: topic === LEFT ? committedLeft : '-1',
              metadata: null,
            })),
          })),
        fetchTopicOffsets: async (topic) => {
          lookups.push(topic);
          const failure = lookupFailures.shift();
          if (failure !== undefined) throw failure;
          return [0, 1].map((partition) => {
            const marks = watermarks[`${topic}|${partition}`] ?? { high: 0, low: 0 };
            return {
              partition,
              offset: String(marks.high),
              high: String(marks.high),
              low: String(marks.low),
            };
          });
        },
        fetchTopicOffsetsByTimestamp: async () => {
          throw new Error('a task looks offsets up by position only');
        },
      }),
      applicationId: APP,
      plan,
      membership: new GroupMembership(),
      log,
      partitionGroup: { maxTaskIdleMs: 0, maxBufferedRecords: 1_000 },
      commitInFlight: () => undefined,
    });
    return { manager, lookups };
  }

  const record = (topic: string, offset: number) => ({
    raw: { topic, partition: 0, offset: String(offset), key: null, value: null, timestamp: 1, headers: {} },
    timestamp: 1,
  });

  it('looks up the lag of a two-input task’s partitions at creation: from the committed offset, else the log start', async () => {
    // left: committed at 5 of 5 (caught up); right: nothing committed, records 1..3 on the broker.
    const { manager, lookups } = twoInputs(
      { [`${LEFT}|0`]: { high: 5, low: 0 }, [`${RIGHT}|0`]: { high: 3, low: 1 } },
      '5',
    );
    const task = await manager.taskFor(LEFT, 0, async () => undefined);
    expect(lookups.sort()).toEqual([LEFT, RIGHT]);
    const group = manager.groupOf(task);
    expect(group?.synchronizes).toBe(true);
    expect(manager.groupFor(RIGHT, 0)).toBe(group);
    group?.add(LEFT, [record(LEFT, 5)], { lag: 0, fetchedUpTo: 6n });
    // The right partition has 2 records on the broker: the left record waits for them.
    expect(group?.readyToProcess(0)).toBe(false);
    group?.updateLag(RIGHT, 0);
    expect(group?.readyToProcess(0)).toBe(true);
  });

  it('looks a lag up again when the broker is not yet the leader of a topic just created', async () => {
    const notLeader = new KafkaJSProtocolError(
      Object.assign(new Error('This server is not the leader for that topic-partition'), {
        type: 'NOT_LEADER_FOR_PARTITION',
        code: 6,
        retriable: true,
      }),
    );
    const { manager, lookups } = twoInputs({ [`${RIGHT}|0`]: { high: 3, low: 1 } }, '-1', [notLeader]);
    const task = await manager.taskFor(LEFT, 0, async () => undefined);
    expect(lookups.sort()).toEqual([LEFT, LEFT, RIGHT]);
    expect(manager.groupOf(task)?.synchronizes).toBe(true);
  });

  it('an empty partition known caught up from the lookup holds nothing back (max.task.idle.ms 0)', async () => {
    // right: log start = high watermark (everything purged or never written).
    const { manager } = twoInputs(
      { [`${LEFT}|0`]: { high: 5, low: 0 }, [`${RIGHT}|0`]: { high: 4, low: 4 } },
      '-1',
    );
    const task = await manager.taskFor(LEFT, 0, async () => undefined);
    const group = manager.groupOf(task);
    group?.add(LEFT, [record(LEFT, 0)], { lag: 4, fetchedUpTo: 1n });
    expect(group?.readyToProcess(0)).toBe(true);
    // Dropping the task forgets its buffered records with it.
    manager.dropTask(task);
    expect(manager.groupOf(task)).toBeUndefined();
    expect(group?.buffered).toBe(0);
  });
});
