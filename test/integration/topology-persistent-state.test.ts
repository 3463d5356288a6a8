import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kafka, Message } from 'kafkajs';
import type { FixtureOutput } from '../support/topology-fixture-app';
import { fixtureEnv, fixtureRecords, FixtureProcess } from '../support/topology-fixture-process';
import { createTopics, produce, readTopic, testKafka, uniqueName } from '../support/topology-kafka';
import { waitFor } from '../support/wait-for';

jest.setTimeout(300_000);

/** Distinct groups, so the counting store holds this many keys. */
const KEYS = 200_000;
/** Records for existing groups produced after the store is full; the kill -9 comes while they are processed. */
const TAIL = 5_000;

async function highWatermark(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

/** High watermark of each partition of `topic` (none while the topic does not exist). */
async function partitionHighWatermarks(kafka: Kafka, topic: string): Promise<number[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) return [];
    return (await admin.fetchTopicOffsets(topic)).map((p) => Number(p.high));
  } finally {
    await admin.disconnect();
  }
}

interface RestoredLog {
  changelogs: { topic: string; persistent: boolean; from: number; end: number; records: number }[];
}

/** The changelog partitions (topic ending with `suffix`) a process logged as restored. */
function restoredChangelogs(process: FixtureProcess, suffix: string): RestoredLog['changelogs'] {
  return process.logs
    .filter((l) => l.msg === 'restored state stores')
    .flatMap((l) => (l as unknown as RestoredLog).changelogs)
    .filter((c) => c.topic.endsWith(suffix));
}

describe('topology runtime: persistent state stores', () => {
  let stateDir: string;

  beforeEach(() => {
    stateDir = mkdtempSync(join(tmpdir(), 'stacklens-pstore-'));
  });

  afterEach(() => rmSync(stateDir, { recursive: true, force: true }));

  it('after kill -9, a 200,000-key store restores only the changelog after its checkpoint, and the output stays exactly once', async () => {
    const kafka = testKafka();
    const app = {
      appId: uniqueName('pstore'),
      input: uniqueName('pstore-in'),
      output: uniqueName('pstore-out'),
    };
    await createTopics(kafka, [
      { topic: app.input, partitions: 2 },
      { topic: app.output, partitions: 2 },
    ]);
    const env = fixtureEnv(app, 'only', {
      FIXTURE_STATE_DIR: stateDir,
      FIXTURE_MAX_IN_FLIGHT_RECORDS: '20000',
    });
    await produce(kafka, app.input, fixtureRecords(0, KEYS, KEYS));

    const first = new FixtureProcess(env);
    // Outputs (and one transaction marker per partition and commit) for nearly every key.
    await waitFor('the store to fill', async () => (await highWatermark(kafka, app.output)) >= KEYS, 180_000);
    const before = await highWatermark(kafka, app.output);
    await produce(kafka, app.input, fixtureRecords(KEYS, TAIL, KEYS));
    await waitFor(
      'the tail to be processed',
      async () => (await highWatermark(kafka, app.output)) > before,
      60_000,
    );
    first.kill('SIGKILL');
    expect(await first.exited).toBeNull();

    const second = new FixtureProcess(env);
    const countChangelogs = () => restoredChangelogs(second, '-group-counts-changelog');
    await waitFor('both tasks to restore their stores', () => countChangelogs().length >= 2, 120_000);
    const counts = countChangelogs();
    console.log(`restart after kill -9: ${JSON.stringify(counts)}`);
    expect(counts).toHaveLength(2);
    // Each store restores from its checkpoint: what is replayed is the commit the kill interrupted,
    // at most, not the 200,000 keys an in-memory store restores.
    expect(counts.every((c) => c.persistent && c.from > 0)).toBe(true);
    expect(counts.reduce((n, c) => n + c.from, 0)).toBeGreaterThan(KEYS / 2);
    expect(counts.reduce((n, c) => n + c.records, 0)).toBeLessThan(KEYS / 10);

    const total = KEYS + TAIL;
    const outputs = await readTopic(kafka, app.output, {
      until: (records) => records.length >= total,
      timeoutMs: 180_000,
    });
    second.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    // Every input once, and each group's counts 1..n: the restored store continued the counts.
    const perId = new Map<number, number>();
    const perGroup = new Map<string, number[]>();
    for (const r of outputs) {
      const out = JSON.parse(r.value!) as FixtureOutput;
      perId.set(out.id, (perId.get(out.id) ?? 0) + 1);
      const group = JSON.parse(r.key!) as string;
      perGroup.set(group, [...(perGroup.get(group) ?? []), out.count]);
    }
    expect(perId.size).toBe(total);
    expect([...perId.values()].filter((n) => n !== 1)).toEqual([]);
    expect(perGroup.size).toBe(KEYS);
    // Groups g0..g(TAIL-1) got a second record in the tail.
    const wrong = [...perGroup].filter(([group, seen]) => {
      const expected = Number(group.slice(1)) < TAIL ? [1, 2] : [1];
      return [...seen].sort((a, b) => a - b).join() !== expected.join();
    });
    expect(wrong).toEqual([]);
  });

  it('after kill -9, a windowed count restores its window store from the checkpoint and emits exact final counts', async () => {
    const kafka = testKafka();
    const app = {
      appId: uniqueName('pwindow'),
      input: uniqueName('pwindow-in'),
      output: uniqueName('pwindow-out'),
    };
    const windowOutput = uniqueName('pwindow-windows');
    await createTopics(kafka, [
      { topic: app.input, partitions: 2 },
      { topic: app.output, partitions: 2 },
      { topic: windowOutput, partitions: 2 },
    ]);
    const env = fixtureEnv(app, 'only', { FIXTURE_STATE_DIR: stateDir, FIXTURE_WINDOW_OUTPUT: windowOutput });
    // Record id i at t0 + i ms: 20 one-second windows per group, within the one-minute grace of each other.
    const records = 20_000;
    const groups = 50;
    const t0 = Math.floor(Date.now() / 1_000) * 1_000;
    const at = (from: number, count: number, ts: (id: number) => number): Message[] =>
      fixtureRecords(from, count, groups).map((m, i) => ({ ...m, timestamp: String(ts(from + i)) }));
    await produce(
      kafka,
      app.input,
      at(0, records, (id) => t0 + id),
    );

    const first = new FixtureProcess(env);
    // Killed once both tasks have committed part of their windows (so both have a checkpoint on disk).
    const windowChangelog = `${app.appId}-window-counts-store-changelog`;
    await waitFor(
      'both window stores to commit part of the input',
      async () =>
        (await highWatermark(kafka, app.output)) >= 4_000 &&
        (await partitionHighWatermarks(kafka, windowChangelog)).filter((high) => high > 0).length === 2,
      120_000,
    );
    first.kill('SIGKILL');
    expect(await first.exited).toBeNull();

    const second = new FixtureProcess(env);
    const windowChangelogs = () => restoredChangelogs(second, '-window-counts-store-changelog');
    await waitFor('both tasks to restore their window stores', () => windowChangelogs().length >= 2, 120_000);
    const restored = windowChangelogs();
    console.log(`window store restart after kill -9: ${JSON.stringify(restored)}`);
    // Restored from its checkpoint on disk, not from the beginning of the changelog.
    expect(restored.filter((c) => !c.persistent || c.from === 0)).toEqual([]);
    await readTopic(kafka, app.output, { until: (r) => r.length >= records, timeoutMs: 180_000 });
    // One record per group past every window's end + grace closes them all: the final counts come out.
    await produce(
      kafka,
      app.input,
      at(records, groups, () => t0 + records + 62_000),
    );
    const expected = new Map<string, number>();
    for (let id = 0; id < records; id += 1) {
      const window = Math.floor((t0 + id) / 1_000) * 1_000;
      const key = `g${id % groups}|${window}`;
      expected.set(key, (expected.get(key) ?? 0) + 1);
    }
    const finals = await readTopic(kafka, windowOutput, {
      until: (r) => r.length >= expected.size,
      timeoutMs: 120_000,
    });
    second.kill('SIGTERM');
    expect(await second.exited).toBe(0);

    const emitted = finals.map((r) => {
      const { key, window } = JSON.parse(r.key!) as { key: string; window: { start: number } };
      return [`${key}|${window.start}`, JSON.parse(r.value!) as number] as const;
    });
    // Each window once (no duplicate), with the count of all its records across the crash.
    expect(emitted).toHaveLength(expected.size);
    expect(new Map(emitted)).toEqual(expected);
  });

  it('does not trust a checkpoint beyond its changelog (the topic was deleted): the store is wiped and follows the changelog', async () => {
    const kafka = testKafka();
    const app = {
      appId: uniqueName('pstore-wipe'),
      input: uniqueName('pstore-wipe-in'),
      output: uniqueName('pstore-wipe-out'),
    };
    await createTopics(kafka, [
      { topic: app.input, partitions: 1 },
      { topic: app.output, partitions: 1 },
    ]);
    const env = fixtureEnv(app, 'only', { FIXTURE_STATE_DIR: stateDir });
    await produce(kafka, app.input, fixtureRecords(0, 100, 10));
    const first = new FixtureProcess(env);
    await readTopic(kafka, app.output, { until: (records) => records.length >= 100 });
    first.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const changelog = `${app.appId}-group-counts-changelog`;
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.deleteTopics({ topics: [changelog] });
      await waitFor(
        'the changelog to be deleted',
        async () => !(await admin.listTopics()).includes(changelog),
      );
    } finally {
      await admin.disconnect();
    }
    await produce(kafka, app.input, fixtureRecords(100, 10, 10));
    const second = new FixtureProcess(env);
    await second.waitForLog(
      (l) =>
        typeof l.msg === 'string' && l.msg.startsWith('persistent store checkpoint outside its changelog'),
      'the stale checkpoint to be refused',
    );
    const outputs = await readTopic(kafka, app.output, { until: (records) => records.length >= 110 });
    second.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    // Counted from an empty store, as a restoration from the (new, empty) changelog would have it.
    const after = outputs.map((r) => JSON.parse(r.value!) as FixtureOutput).filter((o) => o.id >= 100);
    expect(after.map((o) => o.count)).toEqual(Array.from({ length: 10 }, () => 1));
  });
});
