import {
  exactlyOnceReport,
  fixtureEnv,
  fixtureRecords,
  FixtureProcess,
} from '../support/topology-fixture-process';
import { createTopics, produce, readTopic, testKafka, uniqueName } from '../support/topology-kafka';
import { waitFor } from '../support/wait-for';

jest.setTimeout(300_000);

const GROUPS = 11;

describe('topology runtime: two instances share the partitions', () => {
  it('splits tasks between instances; when one is killed the other takes its tasks, restores their state and goes on exactly once', async () => {
    const kafka = testKafka();
    const [input, output, appId] = ['scale-in', 'scale-out', 'scale-app'].map(uniqueName) as [
      string,
      string,
      string,
    ];
    await createTopics(kafka, [
      { topic: input, partitions: 4 },
      { topic: output, partitions: 1 },
    ]);
    const env = (instance: string) => fixtureEnv({ appId, input, output }, instance);
    const a = new FixtureProcess(env('a'));
    const b = new FixtureProcess(env('b'));
    // 2 sub-topologies x 4 partitions = 8 tasks, 4 each once both are in the group.
    await waitFor(
      'a 4/4 split',
      () => a.assignedTasks().length === 4 && b.assignedTasks().length === 4,
      90_000,
    );
    expect(new Set([...a.assignedTasks(), ...b.assignedTasks()]).size).toBe(8);
    const bTasks = b.assignedTasks();

    await produce(kafka, input, fixtureRecords(0, 2_000, GROUPS));
    await readTopic(kafka, output, { until: (r) => r.length >= 2_000, timeoutMs: 120_000 });

    b.kill('SIGKILL');
    await b.exited;
    await produce(kafka, input, fixtureRecords(2_000, 2_000, GROUPS));
    await waitFor('a to take over all 8 tasks', () => a.assignedTasks().length === 8, 90_000);
    const all = await readTopic(kafka, output, { until: (r) => r.length >= 4_000, timeoutMs: 120_000 });

    // a restored the stores of the tasks it took over from b before processing them.
    const restoredTasks = a.logs
      .filter((l) => l.msg === 'restored state stores')
      .flatMap((l) => l.tasks as string[]);
    const bStatefulTasks = bTasks.filter((t) => t.startsWith('1_'));
    for (const task of bStatefulTasks) expect(restoredTasks).toContain(task);

    a.kill('SIGTERM');
    expect(await a.exited).toBe(0);

    expect(all).toHaveLength(4_000);
    expect(exactlyOnceReport(all, 4_000, GROUPS)).toEqual({ ids: 4_000, duplicated: 0, groupsCounted: true });
  });
});
