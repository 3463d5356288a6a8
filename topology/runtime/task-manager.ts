import type { Admin } from 'kafkajs';
import type { Logger } from '../../common/logger';
import { StreamsRuntimeError } from '../errors';
import type { TopologyMetrics } from '../metrics';
import { StreamTask } from '../processor/stream-task';
import type { StateDirectoryCleaner } from '../state/state-directory-cleaner';
import type { Topology } from '../topology';
import type { Checkpoint } from './checkpoint';
import type { GroupMembership } from './group-membership';
import type { ResolvedOptions } from './options';
import { PartitionGroup, type PartitionGroupOptions } from './partition-group';
import type { PartitionPlan } from './partition-plan';
import type { ChangelogRestorer } from './restorer';
import { committedPositions } from './stream-time';

/** Creates the task of a sub-topology for one partition (Kafka Streams' ActiveTaskCreator). */
export type TaskCreator = (subTopologyId: number, partition: number) => StreamTask;

/** A task creator whose tasks write their effects into the open checkpoint (`checkpoint()`). */
export function streamTaskCreator(deps: {
  readonly topology: Topology;
  readonly options: ResolvedOptions;
  readonly plan: PartitionPlan;
  readonly metrics: TopologyMetrics;
  readonly log: Logger;
  /** The open checkpoint, where tasks' effects go until they are committed. */
  readonly checkpoint: () => Checkpoint;
}): TaskCreator {
  const { topology, options, plan, metrics, log, checkpoint } = deps;
  return (subTopologyId, partition) => {
    const subTopology = topology.subTopologies[subTopologyId];
    if (!subTopology) throw new StreamsRuntimeError(`unknown sub-topology ${subTopologyId}`);
    return new StreamTask({
      applicationId: options.applicationId,
      topology,
      subTopology,
      partition,
      lateTopic: options.lateTopic,
      dlqTopic: options.dlqTopic,
      repartitionPartitions: plan.repartitionPartitions,
      storePersistence:
        options.stateDir === undefined
          ? undefined
          : {
              stateDir: options.stateDir,
              instanceId: options.instanceId,
              cacheBytes: options.stateCacheBytes,
            },
      clock: Date.now,
      metrics,
      collector: {
        send: (record) => checkpoint().send(record),
        changelog: (change) => checkpoint().changelog(change),
        sinkWrite: (sink, record, source) => checkpoint().sinkWrite(sink, record, source),
      },
      exceptionPolicies: options.exceptionPolicies,
      onRecordError: (error, raw, outcome) =>
        log.warn(
          {
            err: error,
            topic: raw.topic,
            partition: raw.partition,
            offset: raw.offset,
            ...(outcome === 'dead-lettered' ? { dlq: options.dlqTopic } : {}),
          },
          outcome === 'dead-lettered' ? 'record sent to the dead-letter queue' : 'record dropped',
        ),
      onPunctuationError: (error) =>
        log.error({ err: error, task: `${subTopologyId}_${partition}` }, 'punctuation failed'),
    });
  };
}

/**
 * The tasks of this instance, by id (`<sub-topology>_<partition>`): which are assigned, which are
 * ready, which wait to be restored from their changelogs, and where a new task's partitions were
 * committed (Kafka Streams' TaskManager).
 */
export class TaskManager {
  private readonly tasks = new Map<string, StreamTask>();
  /** Each ready task's buffered input, one queue per partition (see partition-group.ts). */
  private readonly groups = new Map<StreamTask, PartitionGroup>();
  /** Task ids assigned to this instance that have no restored task yet. */
  private readonly pendingTasks = new Set<string>();
  private assigned = new Set<string>();
  private memberId: string | undefined;
  /** Committed offsets read when a task was (re)created, checked against its first fetch. */
  private readonly committedAtStart = new Map<string, bigint>();

  constructor(
    private readonly deps: {
      readonly createTask: TaskCreator;
      readonly restorer: Pick<ChangelogRestorer, 'restore'>;
      /** Reads the committed offsets of new tasks' partitions. */
      readonly admin: Pick<Admin, 'fetchOffsets' | 'fetchTopicOffsets'>;
      readonly applicationId: string;
      readonly plan: Pick<PartitionPlan, 'subTopologyOfTopic'>;
      /** When the last join ended: new tasks' committed offsets are read once it is settled. */
      readonly membership: Pick<GroupMembership, 'joinedAt'>;
      readonly log: Logger;
      readonly partitionGroup: PartitionGroupOptions;
      /** The commit in flight, if any. */
      readonly commitInFlight: () => Promise<boolean> | undefined;
      /** Deletes the state directories of tasks no longer owned (persistent stores only). */
      readonly stateCleaner?: Pick<StateDirectoryCleaner, 'clean'>;
    },
  ) {}

  /** How many tasks this instance has been assigned (0 before the first assignment). */
  assignedCount(): number {
    return this.assigned.size;
  }

  /** The tasks that are ready (restored). */
  active(): StreamTask[] {
    return [...this.tasks.values()];
  }

  /** A ready task's buffered input (undefined once the task was closed). */
  groupOf(task: StreamTask): PartitionGroup | undefined {
    return this.groups.get(task);
  }

  /** The buffered input of the ready task that reads `topic`/`partition`, if there is one. */
  groupFor(topic: string, partition: number): PartitionGroup | undefined {
    const task = this.tasks.get(`${this.deps.plan.subTopologyOfTopic.get(topic)}_${partition}`);
    return task === undefined ? undefined : this.groups.get(task);
  }

  /**
   * GROUP_JOIN (after the open checkpoint was forgotten, see CheckpointCommitter.onRebalance): tasks
   * we lost are dropped (their last checkpoint was committed or forgotten), new ones queued for
   * restoration. A new member id means this instance was evicted from the group (e.g. a stall longer
   * than the session timeout) and missed generations in which others may have processed its
   * partitions: every task is restored.
   */
  onAssignment(memberId: string, assignment: Record<string, number[]>): void {
    if (this.memberId !== undefined && memberId !== this.memberId) {
      this.deps.log.warn(
        { previous: this.memberId, memberId },
        'rejoined the group as a new member: restoring every task',
      );
      this.closeAll();
      this.assigned = new Set();
    }
    this.memberId = memberId;
    const next = assignedTaskIds(assignment, this.deps.plan.subTopologyOfTopic);
    const revoked = [...this.assigned].filter((id) => !next.has(id));
    for (const id of revoked) {
      const task = this.tasks.get(id);
      if (task !== undefined) this.close(task);
      this.tasks.delete(id);
      this.pendingTasks.delete(id);
    }
    for (const id of [...this.pendingTasks]) if (!next.has(id)) this.pendingTasks.delete(id);
    for (const id of next) if (!this.tasks.has(id)) this.pendingTasks.add(id);
    this.assigned = next;
    this.deps.log.info({ assigned: [...next].sort(), revoked }, 'partitions assigned');
  }

  /**
   * Closes a task whose stores hold changes that will not be committed; an assigned task is queued
   * to be restored from its changelog. (A task replaced since, after a rebalance, stays.)
   */
  dropTask(task: StreamTask): void {
    this.close(task);
    if (this.tasks.get(task.id) !== task) return;
    this.tasks.delete(task.id);
    if (this.assigned.has(task.id)) this.pendingTasks.add(task.id);
  }

  /** The task that processes a fetch of `topic`/`partition`, created and restored first if need be. */
  async taskFor(topic: string, partition: number, keepAlive: () => Promise<void>): Promise<StreamTask> {
    const taskId = `${this.deps.plan.subTopologyOfTopic.get(topic)}_${partition}`;
    if (!this.tasks.has(taskId) && !this.pendingTasks.has(taskId)) this.pendingTasks.add(taskId);
    await this.ensureTasks(keepAlive);
    return this.tasks.get(taskId) as StreamTask;
  }

  /** The committed offset read when the partition's task was (re)created, once (its first fetch). */
  takeCommittedAtStart(topic: string, partition: number): bigint | undefined {
    const committed = this.committedAtStart.get(`${topic}|${partition}`);
    this.committedAtStart.delete(`${topic}|${partition}`);
    return committed;
  }

  /** Creates and restores every assigned task that is not ready yet. */
  async ensureTasks(keepAlive: () => Promise<void>): Promise<void> {
    if (this.pendingTasks.size === 0) return;
    // A restore reads committed changelogs: a commit in flight may be about to add to them.
    const committing = this.deps.commitInFlight();
    if (committing !== undefined) await committing;
    const created: StreamTask[] = [];
    for (const id of [...this.pendingTasks]) {
      const at = id.lastIndexOf('_');
      created.push(this.deps.createTask(Number(id.slice(0, at)), Number(id.slice(at + 1))));
    }
    await this.deps.restorer.restore(created, keepAlive);
    // kafkajs fetches the committed offsets at the join without require_stable, so a previous
    // owner's last transaction may not be visible in them yet (its offsets become visible once the
    // coordinator has written its markers, moments after its commit): read them again once the
    // join is STABLE_OFFSETS_SETTLE_MS old, and let the stream thread skip what they show as done.
    while (Date.now() - this.deps.membership.joinedAt < STABLE_OFFSETS_SETTLE_MS) {
      await keepAlive();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const committed = await committedPositions(this.deps.admin, this.deps.applicationId, [
      ...new Set(created.flatMap((t) => t.sourceTopics())),
    ]);
    for (const task of created) {
      for (const topic of task.sourceTopics()) {
        const position = committed.get(`${topic}|${task.partition}`);
        task.restoreStreamTime(position?.streamTime ?? Number.NEGATIVE_INFINITY);
        if (position !== undefined && position.offset >= 0n) {
          this.committedAtStart.set(`${topic}|${task.partition}`, position.offset);
        }
      }
    }
    const groups = await this.createGroups(created, committed);
    for (const [i, task] of created.entries()) {
      this.groups.set(task, groups[i] as PartitionGroup);
      this.tasks.set(task.id, task);
      this.pendingTasks.delete(task.id);
    }
  }

  /**
   * A partition group per new task. A task with several inputs learns each partition's lag from
   * its fetches, but kafkajs reports nothing for a fetch that brings no records: a partition that
   * is empty from the start would hold the task back for ever. Its lag is looked up here instead
   * (high watermark minus the committed offset, or minus the log start when nothing was committed:
   * the consumer starts from the beginning), as Kafka Streams' consumer knows it from its fetches.
   */
  private async createGroups(
    created: readonly StreamTask[],
    committed: ReadonlyMap<string, { offset: bigint }>,
  ): Promise<PartitionGroup[]> {
    const groups = created.map((task) => ({
      task,
      group: new PartitionGroup(task.sourceTopics(), this.deps.partitionGroup),
    }));
    const synchronized = groups.filter(({ group }) => group.synchronizes);
    const topics = new Set(synchronized.flatMap(({ task }) => task.sourceTopics()));
    const watermarks = new Map<string, { high: bigint; low: bigint }>();
    for (const topic of topics) {
      for (const p of await this.deps.admin.fetchTopicOffsets(topic)) {
        watermarks.set(`${topic}|${p.partition}`, { high: BigInt(p.high), low: BigInt(p.low) });
      }
    }
    for (const { task, group } of synchronized) {
      for (const topic of task.sourceTopics()) {
        const id = `${topic}|${task.partition}`;
        const marks = watermarks.get(id);
        if (marks === undefined) continue;
        const position = committed.get(id)?.offset ?? -1n;
        const lag = marks.high - (position >= 0n ? position : marks.low);
        group.initialLag(topic, Number(lag > 0n ? lag : 0n));
      }
    }
    return groups.map(({ group }) => group);
  }

  /**
   * Deletes the state directories of tasks this instance has not owned for the cleanup delay.
   * Called between task creations (in the serial queue), with every task assigned, pending or open.
   */
  cleanStateDirectories(): void {
    const owned = new Set([...this.assigned, ...this.pendingTasks, ...this.tasks.keys()]);
    const deleted = this.deps.stateCleaner?.clean(owned) ?? [];
    if (deleted.length > 0)
      this.deps.log.info({ tasks: deleted }, 'deleted the state of tasks no longer owned');
  }

  /** Closes a task and forgets its buffered input. */
  private close(task: StreamTask): void {
    task.close();
    this.groups.get(task)?.clear();
    this.groups.delete(task);
  }

  /** Closes every ready task (a stop, or an eviction: they are all restored again). */
  closeAll(): void {
    for (const task of this.tasks.values()) this.close(task);
    this.tasks.clear();
  }
}

/**
 * The ids of the tasks an assignment gives (partition p of a sub-topology's source topics is its
 * task p); topics the topology does not read are ignored.
 */
export function assignedTaskIds(
  assignment: Readonly<Record<string, readonly number[]>>,
  subTopologyOfTopic: ReadonlyMap<string, number>,
): Set<string> {
  const ids = new Set<string>();
  for (const [topic, partitions] of Object.entries(assignment)) {
    const sub = subTopologyOfTopic.get(topic);
    if (sub === undefined) continue;
    for (const p of partitions) ids.add(`${sub}_${p}`);
  }
  return ids;
}

/**
 * How long after a join the committed offsets of new tasks are read (again): long enough for the
 * previous owner's last commit markers to be written (moments, normally), short enough not to matter.
 */
const STABLE_OFFSETS_SETTLE_MS = 1_000;
