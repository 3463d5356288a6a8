import { Registry } from 'prom-client';
import { createLogger } from '../../common/logger';
import { TopologyMetrics } from '../metrics';
import type { RawRecord } from '../processor/record';
import type { StreamTask } from '../processor/stream-task';
import { CheckpointCommitter } from './checkpoint-committer';
import type { Committer, OffsetToCommit } from './committer';
import { GroupMembership } from './group-membership';
import { resolveOptions } from './options';
import { SerialQueue } from './serial-queue';

/** A committer whose commits finish when the test says so, recording what each one committed. */
class HeldCommitter implements Committer {
  readonly commits: OffsetToCommit[][] = [];
  private readonly releases: (() => void)[] = [];
  async connect(): Promise<void> {}
  async disconnect(): Promise<void> {}
  async commit(
    _records: readonly unknown[],
    offsets: readonly OffsetToCommit[],
    stillMember: () => Promise<void>,
  ): Promise<ReadonlyMap<string, bigint>> {
    await stillMember();
    await new Promise<void>((resolve) => this.releases.push(resolve));
    this.commits.push([...offsets]);
    return new Map();
  }
  /** Lets the oldest commit that is waiting finish. */
  release(): void {
    this.releases.shift()?.();
  }
  get waiting(): number {
    return this.releases.length;
  }
}

const task = { id: '0_0', partition: 0, streamTime: () => 0, stores: new Map() } as unknown as StreamTask;
const raw = (offset: number): RawRecord => ({
  topic: 'in',
  partition: 0,
  offset: String(offset),
  key: null,
  value: Buffer.from('v'),
  timestamp: 0,
  headers: {},
});

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

function committerWith(committer: HeldCommitter): { checkpoints: CheckpointCommitter; serial: SerialQueue } {
  const options = resolveOptions({
    applicationId: 'app',
    instanceId: 'test',
    brokers: ['127.0.0.1:9'],
    logger: createLogger({ level: 'silent', format: 'json' }),
    registry: new Registry(),
  });
  // A member whose group answers: the committer's membership check before each commit passes.
  const membership = new GroupMembership();
  membership.heartbeatAnswered();
  const serial = new SerialQueue();
  const checkpoints = new CheckpointCommitter({
    options,
    log: options.logger,
    metrics: new TopologyMetrics(options.registry, 'app'),
    committer,
    consumer: { pause: () => undefined, resume: () => undefined, seek: () => undefined },
    serial,
    membership,
    bounds: undefined,
    isRunning: () => true,
    fail: (error) => {
      throw error;
    },
    dropTask: () => [],
    onCommitted: () => undefined,
  });
  return { checkpoints, serial };
}

describe('CheckpointCommitter.commitWhenFree', () => {
  it('does not wait for a commit in flight: the open checkpoint fills meanwhile and is committed right after it', async () => {
    const committer = new HeldCommitter();
    const { checkpoints } = committerWith(committer);
    checkpoints.open.consumed(task, raw(0));
    expect(checkpoints.commitWhenFree()).toBe(true);
    await until(() => committer.waiting === 1);

    // Due again while the first commit is in flight: returns at once, and records keep coming.
    for (const offset of [1, 2]) checkpoints.open.consumed(task, raw(offset));
    expect(checkpoints.commitWhenFree()).toBe(true);
    checkpoints.open.consumed(task, raw(3));
    expect(committer.waiting).toBe(1);

    committer.release();
    // The second commit starts by itself once the first is done, and holds everything since.
    await until(() => committer.waiting === 1 && committer.commits.length === 1);
    expect(checkpoints.open.isEmpty()).toBe(true);
    committer.release();
    await until(() => committer.commits.length === 2);
    expect(committer.commits.map((offsets) => offsets.map((o) => o.offset))).toEqual([['1'], ['4']]);
  });

  it('commits nothing more when no checkpoint became due during the commit in flight', async () => {
    const committer = new HeldCommitter();
    const { checkpoints, serial } = committerWith(committer);
    checkpoints.open.consumed(task, raw(0));
    checkpoints.commitWhenFree();
    await until(() => committer.waiting === 1);
    checkpoints.open.consumed(task, raw(1));
    committer.release();
    await until(() => committer.commits.length === 1);
    await serial.drain();
    expect(committer.waiting).toBe(0);
    // What was processed since stays open until it is due.
    expect(checkpoints.open.ranges().map((r) => r.nextOffset)).toEqual([2n]);
  });
});
