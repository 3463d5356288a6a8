import { setTimeout as delay } from 'node:timers/promises';
import type { FixtureInput } from '../support/topology-fixture-app';
import {
  exactlyOnceReport,
  fixtureEnv,
  fixtureRecords,
  FixtureProcess,
} from '../support/topology-fixture-process';
import { createTopics, produce, readTopic, testKafka, uniqueName } from '../support/topology-kafka';
import { waitFor } from '../support/wait-for';

jest.setTimeout(300_000);

const GROUPS = 9;
/** The load: CHUNK records every PACE_MS (1 000 records/s), a rate the instances keep up with. */
const CHUNK = 100;
const PACE_MS = 100;
/** The load stops once the scenario is over, or at this bound. */
const MAX_RECORDS = 60_000;
/** A purge interval longer than the test (the longest REPARTITION_PURGE_INTERVAL_MS allowed). */
const NO_PURGE_MS = 86_400_000;

describe('topology runtime: an instance joins and leaves under load', () => {
  it('loses and duplicates nothing in the repartition and output topics while the tasks move twice', async () => {
    const kafka = testKafka();
    const [input, output, appId] = ['jl-in', 'jl-out', 'jl-app'].map(uniqueName) as [string, string, string];
    await createTopics(kafka, [
      { topic: input, partitions: 4 },
      { topic: output, partitions: 1 },
    ]);
    // The repartition topic is read back at the end: nothing of it may be purged meanwhile.
    const env = (instance: string) =>
      fixtureEnv({ appId, input, output }, instance, { FIXTURE_PURGE_INTERVAL_MS: String(NO_PURGE_MS) });
    const first = new FixtureProcess(env('first'));
    let second: FixtureProcess | undefined;
    let produced = 0;
    let scenarioOver = false;
    // Input keeps arriving, chunk after chunk, for the whole scenario.
    const load = (async () => {
      for (; !scenarioOver && produced < MAX_RECORDS; produced += CHUNK) {
        await Promise.all([produce(kafka, input, fixtureRecords(produced, CHUNK, GROUPS)), delay(PACE_MS)]);
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
    const total = produced;
    const outputs = await readTopic(kafka, output, { until: (r) => r.length >= total });
    const report = exactlyOnceReport(outputs, total, GROUPS);
    // The repartition topic holds each input once too (what a task's new owner read again was not
    // written twice).
    const repartitioned = await readTopic(kafka, `${appId}-by-group-repartition`, {
      repartition: true,
      until: (r) => r.length >= total,
    });
    const repartitionedIds = new Map<number, number>();
    for (const r of repartitioned) {
      const { id } = JSON.parse(r.value!) as FixtureInput;
      repartitionedIds.set(id, (repartitionedIds.get(id) ?? 0) + 1);
    }
    const repartitionDuplicated = [...repartitionedIds.values()].filter((n) => n > 1).length;
    console.log(
      `join/leave: ${total} inputs; output ${report.ids} ids, ${report.duplicated} duplicated; ` +
        `repartition ${repartitionedIds.size} ids, ${repartitionDuplicated} duplicated`,
    );
    expect(report).toEqual({ ids: total, duplicated: 0, groupsCounted: true });
    expect({ ids: repartitionedIds.size, duplicated: repartitionDuplicated }).toEqual({
      ids: total,
      duplicated: 0,
    });
  });
});
