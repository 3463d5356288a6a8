/**
 * `stacklens bench`: throughput, alert latency and peak memory of the whole pipeline on the local stack,
 * next to the broker's own consumer benchmark on the same topics.
 *
 * 1. Throughput: once the pipeline process (startStackLens + the API, APPLICATION_ID `bench-<runid>`, a
 *    fresh chDB folder) has its partitions, OTLP protobuf batches shaped like the Collector's are produced
 *    as fast as the broker takes them into fresh topics (TOPIC_PREFIX `bench-<runid>-`); timed from the
 *    first record produced until otel_logs and otel_traces hold every record, the archive objects cover
 *    every offset and the pipeline has committed every message. The pipeline process measures its CPU
 *    time over that window, and with `--profile` a V8 CPU profile of that window only.
 * 2. The broker baseline reads the same messages.
 * 3. Latency: error logs produced at a fixed rate, each carrying its produce time; each one's alert is
 *    awaited on /ws/alerts. Then the pipeline stops and reports its peak RSS.
 * Its topics, consumer groups and chDB folder are deleted afterwards.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Partitioners, type Admin, type Kafka, type Message, type Producer } from 'kafkajs';
import WebSocket from 'ws';
import { kafkaClient } from '../app/stacklens-app';
import { stackLensTopics } from '../app/topics';
import type { Logger } from '../common/logger';
import { loadConfig, type StackLensConfig } from '../config/config';
import type { StackSettings } from '../infra/stack-settings';
import { createArchiveStore, type ArchiveStore } from '../sinks/archive/store';
import { ensureTopics, productTopicSpecs } from '../sinks/kafka/topics';
import { archivedMessages, listArchiveKeys, type PartitionOffsets } from './archive-coverage';
import type { BenchOptions } from './bench-options';
import { runBrokerBaseline } from './broker-baseline';
import { readCpuProfile, summarizeCpuProfile } from './cpu-profile';
import { coresUsed } from './cpu-window';
import { BenchClickHouse } from './clickhouse-server';
import { BenchError } from './errors';
import { PipelineChild } from './pipeline-child';
import type { BenchFigures } from './report';
import { readStackCpu, stackCpuBetween } from './stack-cpu';
import { percentile, perSecond } from './stats';
import { buildWorkload, createProbeFactory, PRODUCED_AT_ATTRIBUTE, type Workload } from './workload';

export interface BenchDeps {
  /** The environment, completed with the local stack's endpoints (withLocalStackDefaults). */
  env: NodeJS.ProcessEnv;
  settings: StackSettings;
  logger: Logger;
  /** The built pipeline process; default dist/bench/pipeline-process.js next to this file. */
  pipelineScript?: string;
  /** Progress lines for the user; default none. */
  progress?: (line: string) => void;
}

/** The alert rule the latency probes fire: one alert per probe (dedup by its trace). */
export const PROBE_RULE_ID = 'bench-probe';

/** Archive objects every 2 s instead of every 10 s, so the archive's last flush does not pad the timing. */
const ARCHIVE_FLUSH_SECONDS = '2';
/** A send stays well under the broker's 1 MB batch limit (as the demo producers do). */
const MAX_SEND_BYTES = 512 * 1024;
const POLL_MS = 200;
/** No new row in ClickHouse for this long while records are missing: the pipeline is stuck. */
const STALL_MS = 30_000;

/** The default rules (the pipeline's real load) plus the probe rule. */
export function benchAlertRules(defaultRulesText: string): string {
  const rules = JSON.parse(defaultRulesText) as { version: 1; rules: unknown[] };
  rules.rules.push({
    id: PROBE_RULE_ID,
    type: 'match',
    description: 'Latency probes of stacklens bench',
    when: { level: ['error'], attributes: { [PRODUCED_AT_ATTRIBUTE]: '^[0-9]+$' } },
    alert: { issue_code: 'BENCH_PROBE', severity: 'info', message: 'bench probe of trace {trace_id}' },
    // One alert per probe; a short cooldown lets each probe's dedup entry go after a second of stream
    // time, so the alert state stays as small as the default rules keep it (the state is written to
    // its changelog whole at every record: a growing state slows every record and, past 1 MB, the
    // commit fails; see README, Performance).
    dedup: { by: ['trace_id'], cooldown_seconds: 1 },
  });
  return JSON.stringify(rules, null, 2);
}

/** Messages grouped into sends under MAX_SEND_BYTES each. */
export function sendGroups(values: readonly Buffer[], maxBytes = MAX_SEND_BYTES): Buffer[][] {
  const groups: Buffer[][] = [];
  let current: Buffer[] = [];
  let bytes = 0;
  for (const value of values) {
    if (current.length > 0 && bytes + value.length > maxBytes) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(value);
    bytes += value.length;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

async function preload(producer: Producer, topic: string, values: readonly Buffer[]): Promise<void> {
  for (const group of sendGroups(values)) {
    await producer.send({ topic, messages: group.map((value): Message => ({ value })) });
  }
}

async function offsetsOf(admin: Admin, topic: string): Promise<PartitionOffsets[]> {
  return (await admin.fetchTopicOffsets(topic)).map((p) => ({
    partition: p.partition,
    low: Number(p.low),
    high: Number(p.high),
  }));
}

/** Polls `check` every POLL_MS until it returns true; BenchError after `timeoutMs`. */
async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new BenchError(`timed out after ${timeoutMs / 1_000} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

interface Throughput {
  elapsedMs: number;
  clickhouseElapsedMs: number;
  archiveElapsedMs: number;
  committedElapsedMs: number;
  records: number;
}

/** Input messages the application's consumer group has committed on `topic`, within its offsets. */
async function committedMessages(
  admin: Admin,
  groupId: string,
  topic: string,
  offsets: readonly PartitionOffsets[],
): Promise<number> {
  const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
  let total = 0;
  for (const held of offsets) {
    const at = Number(committed?.partitions.find((p) => p.partition === held.partition)?.offset ?? -1);
    total += Math.max(0, Math.min(at, held.high) - held.low);
  }
  return total;
}

/**
 * Phase 2: from the first record produced until every record is in ClickHouse, the archive objects
 * cover every offset, and the pipeline has committed every input message (so its Kafka outputs, the
 * enriched logs and alerts, are visible too).
 */
async function measureThroughput(options: {
  child: PipelineChild;
  admin: Admin;
  applicationId: string;
  store: ArchiveStore;
  workload: Workload;
  topics: { logs: string; traces: string };
  offsets: { logs: PartitionOffsets[]; traces: PartitionOffsets[] };
  producedFromMs: number;
  timeoutMs: number;
  progress: (line: string) => void;
}): Promise<Throughput> {
  const { child, admin, store, workload, topics, offsets } = options;
  const records = workload.spans + workload.logs;
  const messages = workload.logMessages.length + workload.traceMessages.length;
  const done: { clickhouse?: number; archive?: number; committed?: number } = {};
  const state = { rows: 0, archived: 0, committed: 0 };
  let lastReport = 0;
  let progressed = { atMs: Date.now(), sum: -1 };
  const covered = async (count: (topic: string, held: PartitionOffsets[]) => Promise<number>) =>
    (await count(topics.logs, offsets.logs)) + (await count(topics.traces, offsets.traces));
  await until(
    'the pipeline to materialize, archive and commit the preloaded records',
    options.timeoutMs,
    async () => {
      const now = Date.now();
      if (done.clickhouse === undefined) {
        const counts = await child.rowCounts();
        state.rows = counts.logs + counts.spans;
        if (counts.logs >= workload.logs && counts.spans >= workload.spans) done.clickhouse = now;
      }
      if (done.archive === undefined) {
        state.archived = await covered(async (topic, held) =>
          archivedMessages(
            await listArchiveKeys(
              store,
              topic === topics.logs ? 'logs' : 'traces',
              options.producedFromMs,
              now,
            ),
            topic,
            held,
          ),
        );
        if (state.archived >= messages) done.archive = now;
      }
      if (done.committed === undefined) {
        state.committed = await covered((topic, held) =>
          committedMessages(admin, options.applicationId, topic, held),
        );
        if (state.committed >= messages) done.committed = now;
      }
      const status = `ClickHouse ${state.rows} of ${records} records, archive ${state.archived} and commits ${state.committed} of ${messages} messages`;
      const sum = state.rows + state.archived + state.committed;
      if (sum !== progressed.sum) progressed = { atMs: now, sum };
      else if (now - progressed.atMs > STALL_MS) {
        throw new BenchError(
          `the pipeline made no progress for ${STALL_MS / 1_000} s: ${status} (see its log)`,
        );
      }
      if (now - lastReport > 5_000) {
        options.progress(`  ${status}`);
        lastReport = now;
      }
      return done.clickhouse !== undefined && done.archive !== undefined && done.committed !== undefined;
    },
  );
  return {
    elapsedMs: Math.max(done.clickhouse!, done.archive!, done.committed!) - options.producedFromMs,
    clickhouseElapsedMs: done.clickhouse! - options.producedFromMs,
    archiveElapsedMs: done.archive! - options.producedFromMs,
    committedElapsedMs: done.committed! - options.producedFromMs,
    records,
  };
}

/** Waits until the API's /ready reports `check` ok (`pipeline`: the streams app has partitions). */
async function untilReady(port: number, check: 'pipeline' | 'live_feed', timeoutMs: number): Promise<void> {
  await until(`the ${check} readiness check`, timeoutMs, async () => {
    const ready = (await (await fetch(`http://127.0.0.1:${port}/ready`)).json()) as {
      checks?: Record<string, { ok?: boolean } | undefined>;
    };
    return ready.checks?.[check]?.ok === true;
  });
}

interface LiveAlert {
  type?: string;
  data?: { rule_id?: string; related_trace_id?: string | null };
}

/** Phase 3: probes at a fixed rate, each one's alert awaited on /ws/alerts. */
async function measureLatency(options: {
  port: number;
  producer: Producer;
  topic: string;
  rate: number;
  probes: number;
  timeoutMs: number;
}): Promise<number[]> {
  const ws = new WebSocket(`ws://127.0.0.1:${options.port}/ws/alerts`);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', (err) =>
      reject(new BenchError(`cannot open /ws/alerts: ${err.message}`, { cause: err })),
    );
  });
  const producedAt = new Map<string, number>();
  const latencies = new Map<string, number>();
  ws.on('message', (data: Buffer) => {
    const receivedAt = Date.now();
    const message = JSON.parse(data.toString('utf8')) as LiveAlert;
    const traceId = message.data?.related_trace_id;
    if (message.type !== 'alert' || message.data?.rule_id !== PROBE_RULE_ID || traceId == null) return;
    const sentAt = producedAt.get(traceId);
    if (sentAt !== undefined && !latencies.has(traceId)) latencies.set(traceId, receivedAt - sentAt);
  });
  try {
    const probe = createProbeFactory();
    const sendProbe = (): Promise<unknown> => {
      const p = probe(Date.now());
      producedAt.set(p.traceId, p.producedAtMs);
      return options.producer.send({ topic: options.topic, messages: [{ value: p.value }] });
    };
    // The live feed reads from the latest offsets once its group has partitions: probes sent before
    // that would never be seen. Wait for its assignment, then for one warm-up probe's alert.
    await untilReady(options.port, 'live_feed', options.timeoutMs);
    let warmUpAt = 0;
    await until('a warm-up probe’s alert', options.timeoutMs, async () => {
      if (latencies.size > 0) return true;
      if (Date.now() - warmUpAt >= 1_000) {
        warmUpAt = Date.now();
        await sendProbe();
      }
      return false;
    });
    latencies.clear();
    producedAt.clear();
    const sends: Promise<unknown>[] = [];
    const startMs = Date.now();
    for (let k = 0; k < options.probes; k++) {
      // A fixed schedule: probe k is due at start + k / rate, whatever the previous sends took.
      const dueMs = startMs + (k * 1_000) / options.rate;
      if (dueMs > Date.now()) await new Promise((resolve) => setTimeout(resolve, dueMs - Date.now()));
      sends.push(sendProbe());
    }
    await Promise.all(sends);
    await until('the probes’ alerts', options.timeoutMs, async () => latencies.size >= options.probes).catch(
      () => undefined, // lost alerts are reported as such
    );
    return [...latencies.values()];
  } finally {
    ws.terminate();
  }
}

/** Deletes the run's topics, then its consumer groups (a killed pipeline's groups may still have members). */
async function cleanUp(kafka: Kafka, runPrefix: string, log: Logger): Promise<void> {
  const admin = kafka.admin();
  const warn = (what: string) => (err: Error) =>
    log.warn({ err: err.message }, `could not delete the benchmark's ${what} (${runPrefix}*)`);
  try {
    await admin.connect();
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(runPrefix));
    if (topics.length > 0) await admin.deleteTopics({ topics }).catch(warn('topics'));
    const groups = (await admin.listGroups()).groups
      .map((g) => g.groupId)
      .filter((g) => g.startsWith(runPrefix));
    if (groups.length > 0) await admin.deleteGroups(groups).catch(warn('consumer groups'));
  } catch (err) {
    warn('topics and consumer groups')(err as Error);
  } finally {
    await admin.disconnect();
  }
}

/** Runs the three phases and returns every figure; the caller prints or writes them. */
export async function runBench(options: BenchOptions, deps: BenchDeps): Promise<BenchFigures> {
  const progress = deps.progress ?? (() => undefined);
  const runId = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const applicationId = `bench-${runId}`;
  const runDir = await mkdtemp(join(tmpdir(), `stacklens-${applicationId}-`));
  const base = loadConfig(deps.env);
  await writeFile(
    join(runDir, 'alert-rules.json'),
    benchAlertRules(await readFile(base.alerts.rulesFile, 'utf8')),
  );
  const env: NodeJS.ProcessEnv = {
    ...deps.env,
    TOPIC_PREFIX: `${applicationId}-`,
    APPLICATION_ID: applicationId,
    ARCHIVE_DIR: base.archive.s3 === undefined ? join(runDir, 'archive') : base.archive.dir,
    ALERT_RULES_FILE: join(runDir, 'alert-rules.json'),
    ARCHIVE_FLUSH_SECONDS: deps.env.ARCHIVE_FLUSH_SECONDS ?? ARCHIVE_FLUSH_SECONDS,
    LOG_LEVEL: deps.env.LOG_LEVEL ?? 'warn',
  };
  // Fresh data either way: the run's own server, started below, or chDB in the pipeline process.
  delete env.CLICKHOUSE_URL;
  if (options.clickhouse === 'embedded') env.CHDB_PATH = join(runDir, 'chdb');
  // The parent uses no ClickHouse setting: the run's server, when there is one, is the child's alone.
  const config: StackLensConfig = loadConfig(env);
  const topics = stackLensTopics(config);
  const timeoutMs = options.timeoutSeconds * 1_000;
  const kafka = kafkaClient(config, deps.logger, `${applicationId}-load`);
  const admin = kafka.admin();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  const store = createArchiveStore({
    s3: config.archive.s3 && {
      endpoint: config.archive.s3.endpoint,
      bucket: config.archive.s3.bucket,
      region: config.archive.s3.region,
      credentials:
        config.archive.s3.accessKeyId !== undefined && config.archive.s3.secretAccessKey !== undefined
          ? { accessKeyId: config.archive.s3.accessKeyId, secretAccessKey: config.archive.s3.secretAccessKey }
          : undefined,
    },
    dir: config.archive.dir,
  });
  if (options.profileDir !== undefined) await mkdir(options.profileDir, { recursive: true });
  let child: PipelineChild | undefined;
  let clickhouse: BenchClickHouse | undefined;
  let succeeded = false;
  try {
    if (options.clickhouse === 'server') {
      progress('starting the run’s ClickHouse server (chDB in its own process)');
      clickhouse = await BenchClickHouse.start(runDir);
      env.CLICKHOUSE_URL = clickhouse.url;
    }
    const startedAt = new Date();
    progress(`run ${runId}: generating ${options.traces} traces`);
    const workload = buildWorkload(options, Date.now());
    const messages = workload.logMessages.length + workload.traceMessages.length;
    await Promise.all([admin.connect(), producer.connect()]);
    await ensureTopics(admin, productTopicSpecs(config.topics, { prefix: config.topicPrefix }));
    progress('starting the pipeline process');
    child = new PipelineChild({
      script: deps.pipelineScript ?? join(__dirname, 'pipeline-process.js'),
      env,
      logFile: join(runDir, 'pipeline.log'),
    });
    const port = await child.ready(timeoutMs);
    // The clock starts with the first record produced, once the pipeline has its partitions: its
    // start-up is not timed, and each record's time from produce to ClickHouse is. The CPU window and
    // the profile open just before, so they cover the same phase and nothing else.
    await untilReady(port, 'pipeline', timeoutMs);
    const cpuProfileFile =
      options.profileDir === undefined
        ? undefined
        : join(options.profileDir, `throughput-${runId}.cpuprofile`);
    await child.startProfile(timeoutMs, cpuProfileFile);
    const stackCpuFrom = await readStackCpu(deps.settings, deps.logger, clickhouse?.pid);
    const producedFromMs = Date.now();
    progress(
      `throughput: producing ${messages} messages (${(workload.bytes / 1e6).toFixed(1)} MB) to ${topics.logs}, ${topics.traces}`,
    );
    await Promise.all([
      preload(producer, topics.logs, workload.logMessages),
      preload(producer, topics.traces, workload.traceMessages),
    ]);
    const offsets = {
      logs: await offsetsOf(admin, topics.logs),
      traces: await offsetsOf(admin, topics.traces),
    };
    const throughput = await measureThroughput({
      child,
      admin,
      applicationId,
      store,
      workload,
      topics,
      offsets,
      producedFromMs,
      timeoutMs,
      progress,
    });
    const cpuWindow = await child.stopProfile(timeoutMs);
    const stackCpuMs = stackCpuBetween(
      stackCpuFrom,
      await readStackCpu(deps.settings, deps.logger, clickhouse?.pid),
    );
    const profile =
      cpuProfileFile === undefined
        ? undefined
        : { file: cpuProfileFile, ...summarizeCpuProfile(await readCpuProfile(cpuProfileFile), { top: 20 }) };

    progress('broker baseline: kafka-consumer-perf-test on the same messages');
    const broker = await runBrokerBaseline({
      settings: deps.settings,
      bootstrap: config.kafka.brokers[0]!,
      topics: [topics.logs, topics.traces],
      records: messages,
      timeoutMs,
    });

    progress(`latency: ${options.latencyProbes} alert probes at ${options.latencyRate}/s`);
    const latencies = await measureLatency({
      port,
      producer,
      topic: topics.logs,
      rate: options.latencyRate,
      probes: options.latencyProbes,
      timeoutMs: Math.min(timeoutMs, 60_000),
    });
    const { maxRssKb, largestRssSample } = await child.stop(timeoutMs);
    const clickhouseRssKb = clickhouse?.peakRssKb() ?? null;

    // A lost alert is a finding: the pipeline's log and data are kept to look into it.
    succeeded = latencies.length === options.latencyProbes;
    const records = workload.spans + workload.logs;
    const recordsPerSecond = perSecond(throughput.records, throughput.elapsedMs);
    const recordsPerMessage = records / messages;
    const bytesPerRecord = workload.bytes / records;
    return {
      runId,
      startedAt: startedAt.toISOString(),
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? 'unknown',
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        node: process.version,
      },
      options,
      workload: {
        traces: workload.traces,
        spans: workload.spans,
        logs: workload.logs,
        records,
        messages,
        megabytes: workload.bytes / 1e6,
      },
      pipeline: {
        elapsedMs: throughput.elapsedMs,
        clickhouseElapsedMs: throughput.clickhouseElapsedMs,
        archiveElapsedMs: throughput.archiveElapsedMs,
        committedElapsedMs: throughput.committedElapsedMs,
        recordsPerSecond,
        messagesPerSecond: recordsPerSecond / recordsPerMessage,
        megabytesPerSecond: (recordsPerSecond * bytesPerRecord) / 1e6,
        peakRssMiB: maxRssKb / 1024,
        largestRssSampleMiB:
          largestRssSample === null
            ? null
            : { anon: largestRssSample.anonKb / 1024, file: largestRssSample.fileKb / 1024 },
        clickhouseServerPeakRssMiB: clickhouseRssKb === null ? null : clickhouseRssKb / 1024,
        throughputWindow: {
          wallMs: cpuWindow.wallMs,
          cpuUserMs: cpuWindow.userMs,
          cpuSystemMs: cpuWindow.systemMs,
          cpuMs: cpuWindow.userMs + cpuWindow.systemMs,
          mainThreadCpuMs: cpuWindow.mainThreadMs,
          otherThreadsCpuMs: cpuWindow.otherThreadsMs,
          eventLoopDelayMs: cpuWindow.eventLoopDelayMs,
          coresUsed: coresUsed(cpuWindow),
          stackCpuMs,
        },
      },
      broker,
      ratio: recordsPerSecond / recordsPerMessage / broker.fetchRecordsPerSecond,
      latency: {
        ratePerSecond: options.latencyRate,
        probes: options.latencyProbes,
        received: latencies.length,
        p50Ms: percentile(latencies, 50) ?? null,
        p99Ms: percentile(latencies, 99) ?? null,
        maxMs: latencies.length === 0 ? null : Math.max(...latencies),
      },
      profile,
    };
  } finally {
    await child?.kill();
    await clickhouse?.stop();
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    store.close();
    await cleanUp(kafka, applicationId, deps.logger);
    if (succeeded) await rm(runDir, { recursive: true, force: true });
    else progress(`kept ${runDir} (pipeline and ClickHouse logs, chDB data) for inspection`);
  }
}
