import {
  exactlyOnceReport,
  fixtureEnv,
  fixtureRecords,
  FixtureProcess,
} from '../support/topology-fixture-process';
import { createTopics, produce, readTopic, testKafka, uniqueName } from '../support/topology-kafka';
import { waitFor } from '../support/wait-for';

jest.setTimeout(300_000);

const GROUPS = 7;
/** The fixture's session timeout is 6 s; its transactions time out after 2 s here. */
const TRANSACTION_TIMEOUT_MS = 2_000;
/**
 * How long the zombie stays stopped: past its session timeout (6 s), and past its transaction timeout
 * plus the broker's check for timed-out transactions (every 10 s by default), so that whatever
 * transaction it had open has been aborted by the coordinator before it resumes.
 */
const STALL_MS = 20_000;

describe('topology runtime: a zombie commits nothing', () => {
  it('an instance stalled past its session timeout (SIGSTOP) while another takes over commits nothing when it resumes: 0 duplicates, 0 lost', async () => {
    const kafka = testKafka();
    const [input, output, appId] = ['zombie-in', 'zombie-out', 'zombie-app'].map(uniqueName) as [
      string,
      string,
      string,
    ];
    await createTopics(kafka, [
      { topic: input, partitions: 4 },
      { topic: output, partitions: 1 },
    ]);
    const env = (instance: string) =>
      fixtureEnv({ appId, input, output }, instance, {
        FIXTURE_TRANSACTION_TIMEOUT_MS: String(TRANSACTION_TIMEOUT_MS),
      });
    const zombie = new FixtureProcess(env('zombie'));
    let other: FixtureProcess | undefined;
    let resumedAt = 0;
    try {
      await waitFor(
        'the first instance to own all 8 tasks',
        () => zombie.assignedTasks().length === 8,
        90_000,
      );
      // Stop it in the middle of the work: input pending, some of it already committed.
      await produce(kafka, input, fixtureRecords(0, 4_000, GROUPS));
      await readTopic(kafka, output, { until: (r) => r.length >= 200, timeoutMs: 120_000 });
      zombie.kill('SIGSTOP');
      const stoppedAt = Date.now();
      other = new FixtureProcess(env('other'));
      await waitFor(
        'the other instance to take over all 8 tasks',
        () => other!.assignedTasks().length === 8,
        90_000,
      );
      await produce(kafka, input, fixtureRecords(4_000, 1_000, GROUPS));
      await readTopic(kafka, output, { until: (r) => r.length >= 5_000, timeoutMs: 120_000 });
      await waitFor(
        'the stall to outlast the transaction timeout',
        () => Date.now() - stoppedAt >= STALL_MS,
        STALL_MS + 10_000,
      );
      zombie.kill('SIGCONT');
      resumedAt = zombie.logs.length;
      // The zombie finds out it was evicted (or its transaction aborted), rejoins and gets tasks again.
      await waitFor(
        'the group to split the tasks between the two instances again',
        () =>
          zombie.assignedTasks().length + other!.assignedTasks().length === 8 &&
          other!.assignedTasks().length < 8,
        90_000,
      );
      await produce(kafka, input, fixtureRecords(5_000, 1_000, GROUPS));
      await readTopic(kafka, output, { until: (r) => r.length >= 6_000, timeoutMs: 120_000 });
    } finally {
      zombie.kill('SIGCONT');
      zombie.kill('SIGTERM');
      other?.kill('SIGTERM');
      await Promise.all([zombie.exited, other?.exited]);
    }
    // Everything either instance ever committed, read after both stopped.
    const all = await readTopic(kafka, output, { until: (r) => r.length >= 6_000, timeoutMs: 60_000 });
    const report = exactlyOnceReport(all, 6_000, GROUPS);
    // What the zombie found out when it resumed (evicted, transaction aborted...), for the record.
    const afterResume = new Set(
      zombie.logs
        .slice(resumedAt)
        .filter((l) => Number(l.level) >= 40)
        .map((l) => `${String(l.msg)}${l.err ? `: ${String((l.err as { type?: string }).type)}` : ''}`),
    );
    console.log(`zombie after SIGCONT: ${[...afterResume].join(' | ') || 'no warning'}`);
    console.log(`zombie: ${all.length} outputs for 6000 inputs, ${report.duplicated} duplicated ids`);
    expect(report).toEqual({ ids: 6_000, duplicated: 0, groupsCounted: true });
    expect(all).toHaveLength(6_000);
  });
});
