/**
 * What this instance knows of its consumer group membership. The stream thread records the group's
 * events and the latest fetch's heartbeat; the task manager waits on the join time; the checkpoint
 * committer checks the generation and the heartbeats before it commits (zombie guard).
 */
export class GroupMembership {
  /** Group joins so far: a checkpoint begun in an earlier generation must not be committed. */
  generation = 0;
  /** When the last join ended, and whether a rebalance has begun since (kafkajs's REBALANCING). */
  joinedAt = 0;
  rebalancing = false;
  /** When the group last answered a heartbeat (or a join): the instance was a member then. */
  lastHeartbeatAt = 0;
  /** The latest fetch's heartbeat, with which a commit keeps the membership alive while it waits. */
  heartbeat: () => Promise<void> = async () => undefined;

  /** GROUP_JOIN: a new generation begins. */
  joined(): void {
    this.generation += 1;
    this.lastHeartbeatAt = Date.now();
    this.joinedAt = this.lastHeartbeatAt;
    this.rebalancing = false;
  }

  heartbeatAnswered(): void {
    this.lastHeartbeatAt = Date.now();
  }

  rebalanceStarted(): void {
    this.rebalancing = true;
  }
}
