import type { Kafka } from 'kafkajs';
import type { ProcessingGuarantee } from '../../topology/runtime/options';
import type { FixtureInput, FixtureOutput } from '../support/topology-fixture-app';
import { FixtureProcess } from '../support/topology-fixture-process';
import { BROKERS, createTopics, produce, readTopic, testKafka, uniqueName } from '../support/topology-kafka';
import { waitFor } from '../support/wait-for';

jest.setTimeout(300_000);

const GROUPS = 7;
const CHUNK = 1_500;

function inputChunk(from: number): { key: string; value: string }[] {
  return Array.from({ length: CHUNK }, (_, i) => {
    const value: FixtureInput = { id: from + i, group: `g${(from + i) % GROUPS}` };
    return { key: JSON.stringify(`r${from + i}`), value: JSON.stringify(value) };
  });
}

async function outputHighWatermark(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

/** What the output says about each input id and each group's counts. */
function analyse(records: { key: string | null; value: string | null }[]) {
  const perId = new Map<number, number>();
  const countsPerGroup = new Map<string, number[]>();
  for (const r of records) {
    const out = JSON.parse(r.value!) as FixtureOutput;
    const group = JSON.parse(r.key!) as string;
    perId.set(out.id, (perId.get(out.id) ?? 0) + 1);
    countsPerGroup.set(group, [...(countsPerGroup.get(group) ?? []), out.count]);
  }
  return { perId, countsPerGroup };
}

async function crashRepeatedly(guarantee: ProcessingGuarantee, kills: number) {
  const kafka = testKafka();
  const [input, output, appId] = ['crash-in', 'crash-out', `crash-${guarantee}`].map(uniqueName) as [
    string,
    string,
    string,
  ];
  await createTopics(kafka, [
    { topic: input, partitions: 4 },
    { topic: output, partitions: 2 },
  ]);
  const env = {
    FIXTURE_APP_ID: appId,
    FIXTURE_INSTANCE: 'only',
    FIXTURE_BROKERS: BROKERS.join(','),
    FIXTURE_GUARANTEE: guarantee,
    FIXTURE_INPUT: input,
    FIXTURE_OUTPUT: output,
  };
  let produced = 0;
  await produce(kafka, input, inputChunk(produced));
  produced += CHUNK;
  for (let run = 0; run < kills; run += 1) {
    const app = new FixtureProcess(env);
    const before = await outputHighWatermark(kafka, output);
    // Killed once it is writing output, in the middle of the input it was given.
    await waitFor(
      `run ${run} to make progress`,
      async () => (await outputHighWatermark(kafka, output)) > before,
      90_000,
    );
    await produce(kafka, input, inputChunk(produced));
    produced += CHUNK;
    app.kill('SIGKILL');
    expect(await app.exited).toBeNull();
  }
  const last = new FixtureProcess(env);
  const all = await readTopic(kafka, output, {
    until: (records) => analyse(records).perId.size >= produced,
    timeoutMs: 180_000,
  });
  last.kill('SIGTERM');
  expect(await last.exited).toBe(0);
  expect(last.hasLog((l) => l.msg === 'stopped')).toBe(true);
  // The counts continued from the changelog, not from zero.
  expect(last.hasLog((l) => l.msg === 'restored state stores')).toBe(true);
  // Everything committed up to the end, after a clean stop.
  const final = await readTopic(kafka, output, { timeoutMs: 60_000 });
  expect(final.length).toBeGreaterThanOrEqual(all.length);
  return { produced, ...analyse(final), total: final.length };
}

describe('topology runtime: restart after kill -9', () => {
  it('exactly_once: every input is reflected exactly once in the output, and state counts have no gaps or repeats', async () => {
    const { produced, perId, countsPerGroup, total } = await crashRepeatedly('exactly_once', 3);
    console.log(`exactly_once: ${produced} inputs, ${total} outputs after 3 kill -9`);
    expect(total).toBe(produced);
    expect(perId.size).toBe(produced);
    expect([...perId.values()].every((n) => n === 1)).toBe(true);
    expect(countsPerGroup.size).toBe(GROUPS);
    for (const [group, counts] of countsPerGroup) {
      const members = Array.from({ length: produced }, (_, id) => id).filter(
        (id) => `g${id % GROUPS}` === group,
      ).length;
      const expected = Array.from({ length: members }, (_, i) => i + 1);
      expect({ group, counts: [...counts].sort((a, b) => a - b) }).toEqual({ group, counts: expected });
    }
  });

  it('at_least_once: every input is reflected at least once in the output', async () => {
    const { produced, perId, total } = await crashRepeatedly('at_least_once', 3);
    const duplicates = total - perId.size;
    console.log(
      `at_least_once: ${produced} inputs, ${total} outputs (${duplicates} duplicates) after 3 kill -9`,
    );
    expect(perId.size).toBe(produced);
    for (let id = 0; id < produced; id += 1) expect(perId.get(id) ?? 0).toBeGreaterThanOrEqual(1);
  });
});
