import type { FixtureInput, FixtureOutput } from '../support/topology-fixture-app';
import { FixtureProcess } from '../support/topology-fixture-process';
import { BROKERS, createTopics, produce, readTopic, testKafka, uniqueName } from '../support/topology-kafka';
import { waitFor } from '../support/wait-for';

jest.setTimeout(300_000);

const GROUPS = 11;

function records(from: number, count: number): { key: string; value: string }[] {
  return Array.from({ length: count }, (_, i) => {
    const value: FixtureInput = { id: from + i, group: `g${(from + i) % GROUPS}` };
    return { key: JSON.stringify(`r${from + i}`), value: JSON.stringify(value) };
  });
}

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
    const env = (instance: string) => ({
      FIXTURE_APP_ID: appId,
      FIXTURE_INSTANCE: instance,
      FIXTURE_BROKERS: BROKERS.join(','),
      FIXTURE_GUARANTEE: 'exactly_once',
      FIXTURE_INPUT: input,
      FIXTURE_OUTPUT: output,
    });
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

    await produce(kafka, input, records(0, 2_000));
    await readTopic(kafka, output, { until: (r) => r.length >= 2_000, timeoutMs: 120_000 });

    b.kill('SIGKILL');
    await b.exited;
    await produce(kafka, input, records(2_000, 2_000));
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

    const perId = new Map<number, number>();
    const counts = new Map<string, number[]>();
    for (const r of all) {
      const out = JSON.parse(r.value!) as FixtureOutput;
      perId.set(out.id, (perId.get(out.id) ?? 0) + 1);
      const group = JSON.parse(r.key!) as string;
      counts.set(group, [...(counts.get(group) ?? []), out.count]);
    }
    expect(all).toHaveLength(4_000);
    expect(perId.size).toBe(4_000);
    for (const [group, seen] of counts) {
      const members = Array.from({ length: 4_000 }, (_, id) => id).filter(
        (id) => `g${id % GROUPS}` === group,
      ).length;
      expect({ group, counts: [...seen].sort((x, y) => x - y) }).toEqual({
        group,
        counts: Array.from({ length: members }, (_, i) => i + 1),
      });
    }
  });
});
