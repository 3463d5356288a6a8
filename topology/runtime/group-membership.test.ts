import { GroupMembership } from './group-membership';

describe('GroupMembership', () => {
  let now = 0;
  beforeEach(() => {
    now = 1_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
  });
  afterEach(() => jest.restoreAllMocks());

  it('starts outside any generation, with a heartbeat that does nothing', async () => {
    const membership = new GroupMembership();
    expect(membership.generation).toBe(0);
    expect(membership.joinedAt).toBe(0);
    expect(membership.rebalancing).toBe(false);
    await expect(membership.heartbeat()).resolves.toBeUndefined();
  });

  it('a join begins a new generation, ends the rebalance and counts as a heartbeat', () => {
    const membership = new GroupMembership();
    membership.joined();
    expect(membership.generation).toBe(1);
    expect(membership.joinedAt).toBe(1_000);
    now = 5_000;
    membership.rebalanceStarted();
    expect(membership.rebalancing).toBe(true);
    // Still the generation that began the checkpoint: only the flag says a rebalance is under way.
    expect(membership.generation).toBe(1);
    now = 6_000;
    membership.joined();
    expect({
      generation: membership.generation,
      rebalancing: membership.rebalancing,
      joinedAt: membership.joinedAt,
      lastHeartbeatAt: membership.lastHeartbeatAt,
    }).toEqual({ generation: 2, rebalancing: false, joinedAt: 6_000, lastHeartbeatAt: 6_000 });
  });

  it('an answered heartbeat moves the last heartbeat time, not the join time', () => {
    const membership = new GroupMembership();
    membership.joined();
    now = 9_000;
    membership.heartbeatAnswered();
    expect(membership.lastHeartbeatAt).toBe(9_000);
    expect(membership.joinedAt).toBe(1_000);
    expect(membership.generation).toBe(1);
  });
});
