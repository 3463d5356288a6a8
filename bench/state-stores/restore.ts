/**
 * Benchmark of state store restoration: one task's key-value store of N keys (200,000 by default,
 * ~250-byte JSON values) restored from its changelog on the local broker, by an in-memory store
 * (the whole changelog, at every start) and by a persistent LMDB store (the whole changelog into an
 * empty state directory; then, after a restart, only the records after its checkpoint), and a window
 * store of as many windows (20 per key, same values) restored whole by each kind. Each run is a
 * fresh child process, so RSS is the store's and the runtime's alone. Prints figures, asserts
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
  windowStoreSpec,
  type KeyValueStore,
  type Processor,
  type ProcessorContext,
  type WindowStore,
} from '../../topology';
import { TopologyMetrics } from '../../topology/metrics';
import { StreamTask } from '../../topology/processor/stream-task';
import { ChangelogRestorer } from '../../topology/runtime/restorer';
import { changelogTopicName } from '../../topology/state/store';
import { windowChangelogKey } from '../../topology/state/window-changelog-key';

const STORE = 'bench-store';
const WINDOW_STORE = 'bench-window-store';
/** Windows per key of the window store. */
const WINDOWS_PER_KEY = 20;
type StoreKind = 'key-value' | 'window';
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
  constructor(private readonly kind: StoreKind) {}
  init(context: ProcessorContext<string, Value>): void {
    if (this.kind === 'window') context.windowStore<string, Value>(WINDOW_STORE);
    else context.keyValueStore<string, Value>(STORE);
  }
  process(): void {}
}

/** Child: restores one task's store from the changelog, then scans it once. */
async function child(
  mode: string,
  applicationId: string,
  kind: StoreKind,
  stateDir: string | undefined,
): Promise<void> {
  const kafka = new Kafka({ brokers: [broker()], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const builder = new TopologyBuilder();
  const storeName = kind === 'window' ? WINDOW_STORE : STORE;
  builder.addStateStore(
    kind === 'window'
      ? windowStoreSpec<string, Value>(storeName, { maxEntries: 10_000_000 })
      : keyValueStoreSpec<string, Value>(storeName, { maxEntries: 10_000_000 }),
  );
  builder
    .stream<string, Value>('in', `${applicationId}-unused-input`)
    .process('hold', () => new Holder(kind), { stores: [storeName] });
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
  const scanStarted = process.hrtime.bigint();
  let entries = 0;
  if (kind === 'window') {
    const store = task.stores.get(storeName) as WindowStore<string, Value>;
    for (const { value: v } of store.endingAtOrBefore(Number.POSITIVE_INFINITY))
      if (v.spans >= 0) entries += 1;
  } else {
    const store = task.stores.get(storeName) as KeyValueStore<string, Value>;
    for (const [, v] of store.entries()) if (v.spans >= 0) entries += 1;
  }
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

function runChildOf(
  mode: string,
  applicationId: string,
  kind: StoreKind,
  stateDir?: string,
): Promise<RunResult> {
  return runChild<RunResult>(
    __filename,
    [mode, applicationId, kind, ...(stateDir === undefined ? [] : [stateDir])],
    mode,
  );
}

/** Changelog records `from`..`from + count - 1`: key-value records, or windows (20 per key) of the window store. */
async function produceChangelog(
  kafka: Kafka,
  topic: string,
  from: number,
  count: number,
  round: number,
  kind: StoreKind = 'key-value',
) {
  const producer = kafka.producer();
  await producer.connect();
  try {
    for (let i = from; i < from + count; i += 2_000) {
      const messages = [];
      for (let j = i; j < Math.min(i + 2_000, from + count); j += 1) {
        const key = Buffer.from(
          JSON.stringify(`trace-${(kind === 'window' ? Math.floor(j / WINDOWS_PER_KEY) : j) % 10_000_000}`),
        );
        const start = (j % WINDOWS_PER_KEY) * 60_000;
        messages.push({
          partition: 0,
          key: kind === 'window' ? windowChangelogKey(key, { start, end: start + 60_000 }) : key,
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
  const windowTopic = changelogTopicName(applicationId, WINDOW_STORE);
  const kafka = new Kafka({ brokers: [broker()], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [topic, windowTopic].map((t) => ({
      topic: t,
      numPartitions: 1,
      configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
    })),
  });
  await produceChangelog(kafka, topic, 0, keys, 0);
  await produceChangelog(kafka, windowTopic, 0, keys, 0, 'window');
  const stateDir = mkdtempSync(join(tmpdir(), 'stacklens-bench-state-'));
  try {
    const results: RunResult[] = [];
    results.push(await runChildOf('memory: whole changelog', applicationId, 'key-value'));
    results.push(
      await runChildOf('lmdb: whole changelog (empty state dir)', applicationId, 'key-value', stateDir),
    );
    await produceChangelog(kafka, topic, 0, tail, 1);
    results.push(
      await runChildOf(
        `lmdb: restart, ${tail} records after the checkpoint`,
        applicationId,
        'key-value',
        stateDir,
      ),
    );
    results.push(await runChildOf('window store, memory: whole changelog', applicationId, 'window'));
    results.push(
      await runChildOf(
        'window store, lmdb: whole changelog (empty state dir)',
        applicationId,
        'window',
        stateDir,
      ),
    );
    console.log(
      `state store restoration, ${keys.toLocaleString('en-US')} keys (window store: windows) on one partition`,
    );
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
    await admin.deleteTopics({ topics: [topic, windowTopic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

const [, , role, mode, applicationId, kind, stateDir] = process.argv;
(role === 'child' ? child(mode!, applicationId!, kind as StoreKind, stateDir) : main()).catch(
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
