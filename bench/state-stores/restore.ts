/**
 * Benchmark of state store restoration: one task's key-value store of N keys (200,000 by default,
 * ~250-byte JSON values) restored from its changelog on the local broker, by an in-memory store
 * (the whole changelog, at every start) and by a persistent LMDB store (the whole changelog into an
 * empty state directory; then, after a restart, only the records after its checkpoint). Each run is
 * a fresh child process, so RSS is the store's and the runtime's alone. Prints figures, asserts
 * nothing; not run by the tests.
 *
 *   npm run build && npm run bench:state [-- <keys> [<tail records>]]
 */
import { rssFileMiB, runChild } from './child-run';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { Registry } from 'prom-client';
import { createLogger } from '../../common/logger';
import { kafkaBootstrap } from '../../infra/services/kafka';
import { stackSettingsFromEnv } from '../../infra/stack-settings';
import {
  keyValueStoreSpec,
  TopologyBuilder,
  type KeyValueStore,
  type Processor,
  type ProcessorContext,
} from '../../topology';
import { TopologyMetrics } from '../../topology/metrics';
import { StreamTask } from '../../topology/processor/stream-task';
import { ChangelogRestorer } from '../../topology/runtime/restorer';
import { changelogTopicName } from '../../topology/state/store';

const STORE = 'bench-store';
const MiB = 1024 * 1024;

interface Value {
  readonly traceId: string;
  readonly services: string[];
  readonly spans: number;
  readonly logs: number;
  readonly errors: number;
  readonly firstMs: number;
  readonly lastMs: number;
  readonly note: string;
}

function value(i: number, round: number): Value {
  return {
    traceId: i.toString(16).padStart(32, '0'),
    services: ['checkout', 'payments', 'inventory'].slice(0, 1 + (i % 3)),
    spans: 3 + (i % 17) + round,
    logs: i % 11,
    errors: i % 7 === 0 ? 1 : 0,
    firstMs: 1_700_000_000_000 + i,
    lastMs: 1_700_000_000_000 + i + 1_234,
    note: 'x'.repeat(60),
  };
}

interface RunResult {
  readonly mode: string;
  readonly restored: number;
  readonly restoreSeconds: number;
  /** Before the restoration: the process with its modules and Kafka clients loaded. */
  readonly rssBeforeMiB: number;
  readonly rssMiB: number;
  /** Of which pages of the memory-mapped LMDB file (page cache the kernel can reclaim), from /proc. */
  readonly rssFileMiB: number;
  readonly heapMiB: number;
  readonly scanSeconds: number;
  readonly rssAfterScanMiB: number;
  readonly entries: number;
}

/** Holds the store; never given records here (the benchmark only restores and scans it). */
class Holder implements Processor<string, Value, string, Value> {
  init(context: ProcessorContext<string, Value>): void {
    context.keyValueStore<string, Value>(STORE);
  }
  process(): void {}
}

/** Child: restores one task's store from the changelog, then scans it once. */
async function child(mode: string, applicationId: string, stateDir: string | undefined): Promise<void> {
  const kafka = new Kafka({ brokers: [broker()], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const builder = new TopologyBuilder();
  builder.addStateStore(keyValueStoreSpec<string, Value>(STORE, { maxEntries: 10_000_000 }));
  builder.stream<string, Value>('in', `${applicationId}-unused-input`).process('hold', () => new Holder(), {
    stores: [STORE],
  });
  const topology = builder.build();
  const registry = new Registry();
  const metrics = new TopologyMetrics(registry, applicationId);
  const task = new StreamTask({
    applicationId,
    topology,
    subTopology: topology.subTopologies[0]!,
    partition: 0,
    lateTopic: `${applicationId}-late`,
    dlqTopic: `${applicationId}-dlq`,
    repartitionPartitions: new Map(),
    clock: Date.now,
    collector: { send: () => undefined, changelog: () => undefined, sinkWrite: () => undefined },
    storePersistence:
      stateDir === undefined ? undefined : { stateDir, instanceId: 'bench', cacheBytes: 16 * MiB },
  });
  const logger = createLogger({ level: 'silent', format: 'json' });
  const restorer = new ChangelogRestorer(kafka, admin, applicationId, 'bench', logger, metrics);
  global.gc?.();
  const rssBeforeMiB = process.memoryUsage().rss / MiB;
  const started = process.hrtime.bigint();
  await restorer.restore([task], async () => undefined);
  const restoreSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const restored = (await registry.getSingleMetricAsString('stacklens_topology_restored_records_total'))
    .split('\n')
    .filter((line) => line.startsWith('stacklens_topology_restored_records_total'))
    .reduce((n, line) => n + Number(line.split(' ').pop()), 0);
  global.gc?.();
  const afterRestore = process.memoryUsage();
  const store = task.stores.get(STORE) as KeyValueStore<string, Value>;
  const scanStarted = process.hrtime.bigint();
  let entries = 0;
  for (const [, v] of store.entries()) if (v.spans >= 0) entries += 1;
  const scanSeconds = Number(process.hrtime.bigint() - scanStarted) / 1e9;
  const result: RunResult = {
    mode,
    restored,
    restoreSeconds,
    rssBeforeMiB,
    rssMiB: afterRestore.rss / MiB,
    rssFileMiB: rssFileMiB(),
    heapMiB: afterRestore.heapUsed / MiB,
    scanSeconds,
    rssAfterScanMiB: process.memoryUsage().rss / MiB,
    entries,
  };
  task.close();
  await admin.disconnect();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function broker(): string {
  return kafkaBootstrap(stackSettingsFromEnv());
}

function runChildOf(mode: string, applicationId: string, stateDir?: string): Promise<RunResult> {
  return runChild<RunResult>(
    __filename,
    [mode, applicationId, ...(stateDir === undefined ? [] : [stateDir])],
    mode,
  );
}

async function produceChangelog(kafka: Kafka, topic: string, from: number, count: number, round: number) {
  const producer = kafka.producer();
  await producer.connect();
  try {
    for (let i = from; i < from + count; i += 2_000) {
      const messages = [];
      for (let j = i; j < Math.min(i + 2_000, from + count); j += 1) {
        messages.push({
          partition: 0,
          key: JSON.stringify(`trace-${j % 10_000_000}`),
          value: JSON.stringify(value(j, round)),
        });
      }
      await producer.send({ topic, acks: -1, messages });
    }
  } finally {
    await producer.disconnect();
  }
}

async function main(): Promise<void> {
  const keys = Number(process.argv[2] ?? 200_000);
  const tail = Number(process.argv[3] ?? 2_000);
  const applicationId = `bench-state-${Date.now().toString(36)}`;
  const topic = changelogTopicName(applicationId, STORE);
  const kafka = new Kafka({ brokers: [broker()], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }],
  });
  await produceChangelog(kafka, topic, 0, keys, 0);
  const stateDir = mkdtempSync(join(tmpdir(), 'stacklens-bench-state-'));
  try {
    const results: RunResult[] = [];
    results.push(await runChildOf('memory: whole changelog', applicationId));
    results.push(await runChildOf('lmdb: whole changelog (empty state dir)', applicationId, stateDir));
    await produceChangelog(kafka, topic, 0, tail, 1);
    results.push(
      await runChildOf(`lmdb: restart, ${tail} records after the checkpoint`, applicationId, stateDir),
    );
    console.log(`state store restoration, ${keys.toLocaleString('en-US')} keys on one partition`);
    console.log(
      '| store | records restored | restore s | RSS before → after restore MiB (file-backed) | heap after MiB | full scan s | RSS after scan MiB |',
    );
    console.log('| --- | --- | --- | --- | --- | --- | --- |');
    for (const r of results) {
      console.log(
        `| ${r.mode} | ${r.restored.toLocaleString('en-US')} | ${r.restoreSeconds.toFixed(2)} | ` +
          `${r.rssBeforeMiB.toFixed(0)} → ${r.rssMiB.toFixed(0)} (${r.rssFileMiB.toFixed(0)}) | ${r.heapMiB.toFixed(0)} | ${r.scanSeconds.toFixed(2)} | ${r.rssAfterScanMiB.toFixed(0)} |`,
      );
    }
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

const [, , role, mode, applicationId, stateDir] = process.argv;
(role === 'child' ? child(mode!, applicationId!, stateDir) : main()).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
