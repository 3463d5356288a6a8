import { setTimeout as delay } from 'node:timers/promises';
import type { FixtureInput, FixtureOutput } from '../support/topology-fixture-app';
import { FixtureProcess } from '../support/topology-fixture-process';
import {
  BROKERS,
  createTopics,
  produce,
  readTopic,
  testKafka,
  uniqueName,
  type ReadRecord,
} from '../support/topology-kafka';
import { waitFor } from '../support/wait-for';

jest.setTimeout(300_000);

const GROUPS = 9;
/** The load: CHUNK records every PACE_MS (1 000 records/s), a rate the instances keep up with. */
const CHUNK = 100;
const PACE_MS = 100;
/** The load stops once the scenario is over, or at this bound. */
const MAX_RECORDS = 60_000;

function records(from: number, count: number): { key: string; value: string }[] {
  return Array.from({ length: count }, (_, i) => {
    const value: FixtureInput = { id: from + i, group: `g${(from + i) % GROUPS}` };
    return { key: JSON.stringify(`r${from + i}`), value: JSON.stringify(value) };
  });
}

/** How many times each input id appears in a topic's committed records. */
function idCounts(all: readonly ReadRecord[], idOf: (value: string) => number): Map<number, number> {
  const counts = new Map<number, number>();
  for (const r of all) {
    const id = idOf(r.value!);
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

describe('topology runtime: an instance joins and leaves under load', () => {
  it('loses and duplicates nothing in the repartition and output topics while the tasks move twice', async () => {
    const kafka = testKafka();
    const [input, output, appId] = ['jl-in', 'jl-out', 'jl-app'].map(uniqueName) as [string, string, string];
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
    const first = new FixtureProcess(env('first'));
    let second: FixtureProcess | undefined;
    let produced = 0;
    let scenarioOver = false;
    // Input keeps arriving, chunk after chunk, for the whole scenario.
    const load = (async () => {
      for (; !scenarioOver && produced < MAX_RECORDS; produced += CHUNK) {
        await Promise.all([produce(kafka, input, records(produced, CHUNK)), delay(PACE_MS)]);
      }
    })();
    try {
      await waitFor(
        'the first instance to own all 8 tasks',
        () => first.assignedTasks().length === 8,
        90_000,
      );
      await waitFor('input to be flowing', () => produced >= 1_000, 120_000);
      second = new FixtureProcess(env('second'));
      await waitFor(
        'the tasks to be split between the two instances',
        () => first.assignedTasks().length === 4 && second!.assignedTasks().length === 4,
        90_000,
      );
      second.kill('SIGTERM');
      expect(await second.exited).toBe(0);
      await waitFor(
        'the first instance to own all 8 tasks again',
        () => first.assignedTasks().length === 8,
        90_000,
      );
      expect(produced).toBeLessThan(MAX_RECORDS); // the tasks moved twice while input was arriving
      scenarioOver = true;
      await load;
      await readTopic(kafka, output, { until: (r) => r.length >= produced, timeoutMs: 120_000 });
    } finally {
      scenarioOver = true;
      await load.catch(() => undefined);
      first.kill('SIGTERM');
      second?.kill('SIGTERM');
      await Promise.all([first.exited, second?.exited]);
    }
    const TOTAL = produced;
    const outputs = await readTopic(kafka, output, { until: (r) => r.length >= TOTAL });
    const repartitioned = await readTopic(kafka, `${appId}-by-group-repartition`, {
      until: (r) => r.length >= TOTAL,
    });
    for (const [topic, counts] of [
      ['output', idCounts(outputs, (v) => (JSON.parse(v) as FixtureOutput).id)],
      ['repartition', idCounts(repartitioned, (v) => (JSON.parse(v) as FixtureInput).id)],
    ] as const) {
      const duplicated = [...counts.values()].filter((n) => n > 1).length;
      console.log(`join/leave ${topic}: ${counts.size} of ${TOTAL} ids, ${duplicated} duplicated`);
      expect({ topic, ids: counts.size, duplicated }).toEqual({ topic, ids: TOTAL, duplicated: 0 });
    }
    // Each group's running count went 1..n without a gap or repeat: state moved with its task.
    const seen = new Map<string, number[]>();
    for (const r of outputs) {
      const group = JSON.parse(r.key!) as string;
      seen.set(group, [...(seen.get(group) ?? []), (JSON.parse(r.value!) as FixtureOutput).count]);
    }
    for (const [group, counts] of seen) {
      const members = Array.from({ length: TOTAL }, (_, id) => id).filter(
        (id) => `g${id % GROUPS}` === group,
      ).length;
      expect({ group, counts: [...counts].sort((x, y) => x - y) }).toEqual({
        group,
        counts: Array.from({ length: members }, (_, i) => i + 1),
      });
    }
  });
});
