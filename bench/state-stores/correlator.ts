/**
 * Benchmark of the trace correlator's state at high trace rates: `traces` traces (3 spans each)
 * arriving at `rate` new traces per second of event time through one task, with the pipeline's
 * defaults (window 60 s, grace 30 s, retention 10 windows: a trace is held ~690 s of stream time),
 * committed every 1,000 records as the runtime does (changelog values serialized at the seal; a
 * persistent store writes them to LMDB after). Once with the in-memory store (200,000 traces at
 * most per task, as in the pipeline) and once with the LMDB store, each in a fresh child process.
 * Prints records/s, the traces held and dead-lettered, and RSS; asserts nothing; no Kafka needed.
 *
 *   npm run build && node dist/bench/state-stores/correlator.js [<traces> [<rate>]]
 */
import { rssFileMiB, runChild } from './child-run';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CorrelationInput } from '../../app/pipeline/correlation-input';
import {
  correlationCheckIntervalMs,
  TRACE_CORRELATIONS_STORE,
  traceCorrelationsStoreSpec,
  TraceCorrelator,
} from '../../app/pipeline/trace-correlator';
import type { Correlation } from '../../processors/records';
import { jsonSerde, stringSerde, TopologyBuilder } from '../../topology';
import { materialize, type ChangelogRecord, type RawRecord } from '../../topology/processor/record';
import { StreamTask } from '../../topology/processor/stream-task';
import { ChangelogCache } from '../../topology/state/changelog-cache';
import { CollectingSink } from '../../topology/testing';

const MiB = 1024 * 1024;
const WINDOW_MS = 60_000;
const GRACE_MS = 30_000;
const SPANS_PER_TRACE = 3;
const COMMIT_EVERY = 1_000;

interface RunResult {
  readonly mode: string;
  readonly records: number;
  readonly seconds: number;
  readonly held: number;
  readonly deadLettered: number;
  readonly emitted: number;
  readonly rssMiB: number;
  readonly rssFileMiB: number;
  readonly heapMiB: number;
}

function spanInput(traceId: string, index: number, startMs: number): CorrelationInput {
  const nanos = `${BigInt(startMs) * 1_000_000n}`;
  return {
    kind: 'span',
    span: {
      trace_id: traceId,
      span_id: index.toString(16).padStart(16, '0'),
      parent_span_id: index % SPANS_PER_TRACE === 0 ? '' : 'aaaaaaaaaaaaaaaa',
      name: `GET /api/items/${index % 50}`,
      service: ['checkout', 'payments', 'inventory'][index % 3]!,
      start_time_unix_nano: nanos,
      end_time_unix_nano: `${BigInt(startMs + 25) * 1_000_000n}`,
      status_code: index % 97 === 0 ? 'Error' : 'Unset',
      status_message: '',
      error_code: '',
      gen_ai_input_tokens: 0,
      gen_ai_output_tokens: 0,
      events: [],
    },
  };
}

async function child(
  mode: string,
  traces: number,
  rate: number,
  stateDir: string | undefined,
): Promise<void> {
  const sink = new CollectingSink<string, Correlation>('correlations');
  const builder = new TopologyBuilder();
  builder.addStateStore(traceCorrelationsStoreSpec(200_000));
  builder
    .stream<string, CorrelationInput>('inputs', 'inputs', {
      keySerde: stringSerde(),
      valueSerde: jsonSerde<CorrelationInput>(),
    })
    .process<string, Correlation>(
      'correlate',
      () =>
        new TraceCorrelator({
          windowMs: WINDOW_MS,
          graceMs: GRACE_MS,
          retentionMs: 10 * WINDOW_MS,
          checkIntervalMs: correlationCheckIntervalMs(WINDOW_MS),
        }),
      { stores: [TRACE_CORRELATIONS_STORE] },
    )
    .toSink('to-sink', sink);
  const topology = builder.build();
  let changes = new ChangelogCache<ChangelogRecord>();
  let deadLettered = 0;
  let emitted = 0;
  const task = new StreamTask({
    applicationId: 'bench-corr',
    topology,
    subTopology: topology.subTopologies[0]!,
    partition: 0,
    lateTopic: 'late',
    dlqTopic: 'dlq',
    repartitionPartitions: new Map(),
    clock: Date.now,
    collector: {
      send: (record) => void (record.topic === 'dlq' && (deadLettered += 1)),
      changelog: (change) => void changes.put(change),
      sinkWrite: () => void (emitted += 1),
    },
    storePersistence:
      stateDir === undefined ? undefined : { stateDir, instanceId: 'bench', cacheBytes: 16 * MiB },
  });
  const store = task.stores.get(TRACE_CORRELATIONS_STORE)!;
  const commit = async (offset: number): Promise<void> => {
    store.persistent?.prepareCommit();
    for (const change of changes.changes()) materialize(change);
    changes = new ChangelogCache<ChangelogRecord>();
    await store.persistent?.committed(BigInt(offset));
  };
  const t0 = Date.UTC(2026, 11, 1);
  const records = traces * SPANS_PER_TRACE;
  const started = process.hrtime.bigint();
  for (let i = 0; i < records; i += 1) {
    // Spans of a trace arrive close together: trace t's spans are records 3t..3t+2, 20 ms apart.
    const trace = Math.floor(i / SPANS_PER_TRACE);
    const timeMs = t0 + Math.floor((trace * 1_000) / rate) + (i % SPANS_PER_TRACE) * 20;
    const traceId = trace.toString(16).padStart(32, '0');
    const raw: RawRecord = {
      topic: 'inputs',
      partition: 0,
      offset: String(i),
      key: Buffer.from(traceId),
      value: Buffer.from(JSON.stringify(spanInput(traceId, i, timeMs))),
      timestamp: timeMs,
      headers: {},
    };
    task.process(raw);
    if ((i + 1) % COMMIT_EVERY === 0) await commit(i + 1);
  }
  await commit(records);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  global.gc?.();
  const memory = process.memoryUsage();
  const result: RunResult = {
    mode,
    records,
    seconds,
    held: store.size(),
    deadLettered,
    emitted,
    rssMiB: memory.rss / MiB,
    rssFileMiB: rssFileMiB(),
    heapMiB: memory.heapUsed / MiB,
  };
  task.close();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function runChildOf(mode: string, traces: number, rate: number, stateDir?: string): Promise<RunResult> {
  const args = [mode, String(traces), String(rate), ...(stateDir === undefined ? [] : [stateDir])];
  return runChild<RunResult>(__filename, args, mode);
}

async function main(): Promise<void> {
  const traces = Number(process.argv[2] ?? 300_000);
  const rate = Number(process.argv[3] ?? 435);
  const stateDir = mkdtempSync(join(tmpdir(), 'stacklens-bench-corr-'));
  try {
    const results = [
      await runChildOf('memory', traces, rate),
      await runChildOf('lmdb', traces, rate, stateDir),
    ];
    console.log(
      `trace correlator: ${traces.toLocaleString('en-US')} traces x ${SPANS_PER_TRACE} spans, ${rate} new traces/s of event time, one task`,
    );
    console.log(
      '| store | records/s | traces held at the end | dead-lettered | emitted | RSS MiB (file-backed) | heap MiB |',
    );
    console.log('| --- | --- | --- | --- | --- | --- | --- |');
    for (const r of results) {
      console.log(
        `| ${r.mode} | ${Math.round(r.records / r.seconds).toLocaleString('en-US')} | ${r.held.toLocaleString('en-US')} | ` +
          `${r.deadLettered.toLocaleString('en-US')} | ${r.emitted.toLocaleString('en-US')} | ` +
          `${r.rssMiB.toFixed(0)} (${r.rssFileMiB.toFixed(0)}) | ${r.heapMiB.toFixed(0)} |`,
      );
    }
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
}

const [, , role, mode, traces, rate, stateDir] = process.argv;
(role === 'child' ? child(mode!, Number(traces), Number(rate), stateDir) : main()).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
