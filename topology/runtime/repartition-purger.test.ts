import { createLogger } from '../../common/logger';
import {
  addCommitted,
  purgeRequests,
  RepartitionPurger,
  type CommittedPartition,
  type PurgeRequest,
} from './repartition-purger';

const REPARTITION = new Set(['app-by-group-repartition', 'app-by-trace-repartition']);

const at = (topic: string, partition: number, nextOffset: bigint): CommittedPartition => ({
  topic,
  partition,
  nextOffset,
});

describe('addCommitted', () => {
  it('keeps repartition topics only, with the furthest position of each partition', () => {
    const pending = new Map<string, CommittedPartition>();
    addCommitted(
      pending,
      [
        at('app-by-group-repartition', 0, 10n),
        at('input', 0, 50n),
        at('app-group-counts-changelog', 0, 7n),
        at('app-by-group-repartition', 1, 4n),
      ],
      REPARTITION,
    );
    addCommitted(
      pending,
      [at('app-by-group-repartition', 0, 8n), at('app-by-group-repartition', 1, 9n)],
      REPARTITION,
    );
    expect([...pending.values()]).toEqual([
      at('app-by-group-repartition', 0, 10n),
      at('app-by-group-repartition', 1, 9n),
    ]);
  });
});

describe('purgeRequests', () => {
  it('asks, per topic, to delete before each committed position not purged that far yet', () => {
    const requests = purgeRequests(
      [
        at('app-by-trace-repartition', 2, 30n),
        at('app-by-group-repartition', 1, 12n),
        at('app-by-group-repartition', 0, 5n),
        at('app-by-trace-repartition', 0, 0n),
      ],
      new Map([['app-by-group-repartition|0', 5n]]),
    );
    expect(requests).toEqual([
      { topic: 'app-by-trace-repartition', partitions: [{ partition: 2, offset: '30' }] },
      { topic: 'app-by-group-repartition', partitions: [{ partition: 1, offset: '12' }] },
    ]);
  });
});

/** An admin client that records the purges asked of it and answers when the test says so. */
class FakeAdmin {
  readonly deleted: PurgeRequest[] = [];
  metadataReads = 0;
  failNext = false;
  /** The purge waits for the broker until answer(). */
  hold = false;
  private release: (() => void) | undefined;

  async fetchTopicMetadata(): Promise<{ topics: [] }> {
    this.metadataReads += 1;
    if (this.hold) await new Promise<void>((resolve) => (this.release = resolve));
    return { topics: [] };
  }

  async deleteTopicRecords(request: PurgeRequest): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('NOT_LEADER_OR_FOLLOWER');
    }
    this.deleted.push({ topic: request.topic, partitions: request.partitions.map((p) => ({ ...p })) });
  }

  /** Lets the held purge go on. */
  answer(): void {
    this.hold = false;
    this.release?.();
  }
}

function purgerWith(admin: FakeAdmin, intervalMs: number) {
  let now = 1_000;
  const warnings: unknown[] = [];
  const log = createLogger({ level: 'silent', format: 'text' });
  log.warn = ((...args: unknown[]) => warnings.push(args)) as typeof log.warn;
  const purger = new RepartitionPurger({
    admin,
    repartitionTopics: REPARTITION,
    intervalMs,
    log,
    clock: () => now,
  });
  return {
    purger,
    warnings,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('RepartitionPurger', () => {
  it('purges at most once per interval, up to the committed positions and never a source topic', async () => {
    const admin = new FakeAdmin();
    const { purger, advance } = purgerWith(admin, 30_000);
    purger.committed([at('app-by-group-repartition', 0, 10n), at('input', 0, 99n)]);
    await purger.settled();
    // The first purge comes one interval after the start.
    expect(admin.deleted).toEqual([]);
    advance(30_000);
    purger.committed([at('app-by-group-repartition', 0, 20n), at('app-by-group-repartition', 1, 3n)]);
    await purger.settled();
    expect(admin.deleted).toEqual([
      {
        topic: 'app-by-group-repartition',
        partitions: [
          { partition: 0, offset: '20' },
          { partition: 1, offset: '3' },
        ],
      },
    ]);
    advance(10_000);
    purger.committed([at('app-by-group-repartition', 0, 25n)]);
    await purger.settled();
    expect(admin.deleted).toHaveLength(1);
    advance(20_000);
    purger.committed([at('app-by-trace-repartition', 1, 7n)]);
    await purger.settled();
    // What was committed while the interval ran is purged with the next purge; partition 1 of the
    // first topic did not move, so it is not asked again.
    expect(admin.deleted.slice(1)).toEqual([
      { topic: 'app-by-group-repartition', partitions: [{ partition: 0, offset: '25' }] },
      { topic: 'app-by-trace-repartition', partitions: [{ partition: 1, offset: '7' }] },
    ]);
  });

  it('runs one purge at a time, without holding up the commit that started it', async () => {
    const admin = new FakeAdmin();
    const { purger, advance } = purgerWith(admin, 0);
    admin.hold = true;
    purger.committed([at('app-by-group-repartition', 0, 10n)]);
    // committed() returned while the purge waits for the broker; commits go on meanwhile.
    purger.committed([at('app-by-group-repartition', 0, 15n)]);
    advance(1);
    purger.committed([at('app-by-group-repartition', 0, 18n)]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(admin.metadataReads).toBe(1);
    expect(admin.deleted).toEqual([]);
    admin.answer();
    await purger.settled();
    expect(admin.deleted).toEqual([
      { topic: 'app-by-group-repartition', partitions: [{ partition: 0, offset: '10' }] },
    ]);
    purger.committed([]);
    await purger.settled();
    expect(admin.deleted[1]).toEqual({
      topic: 'app-by-group-repartition',
      partitions: [{ partition: 0, offset: '18' }],
    });
  });

  it('logs a failed purge and asks again at the next one', async () => {
    const admin = new FakeAdmin();
    const { purger, warnings, advance } = purgerWith(admin, 1_000);
    advance(1_000);
    admin.failNext = true;
    purger.committed([at('app-by-group-repartition', 2, 40n)]);
    await purger.settled();
    expect(admin.deleted).toEqual([]);
    expect(warnings).toHaveLength(1);
    advance(1_000);
    purger.committed([at('app-by-trace-repartition', 0, 5n)]);
    await purger.settled();
    expect(admin.deleted).toEqual([
      { topic: 'app-by-group-repartition', partitions: [{ partition: 2, offset: '40' }] },
      { topic: 'app-by-trace-repartition', partitions: [{ partition: 0, offset: '5' }] },
    ]);
  });
});
