import type { BrokerBaseline } from './broker-baseline';
import type { BenchOptions } from './bench-options';
import type { ProfileSummary } from './cpu-profile';

/** Everything one `stacklens bench` run measured; what `--json` writes. */
export interface BenchFigures {
  runId: string;
  startedAt: string;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string };
  options: BenchOptions;
  workload: {
    traces: number;
    spans: number;
    logs: number;
    records: number;
    messages: number;
    megabytes: number;
  };
  pipeline: {
    /** From the first record produced until every one is in ClickHouse, archived and committed. */
    elapsedMs: number;
    /** From the first record produced until the last one is in ClickHouse (otel_logs + otel_traces). */
    clickhouseElapsedMs: number;
    /** From the first record produced until the archive objects cover every input message. */
    archiveElapsedMs: number;
    /** From the first record produced until the pipeline has committed every input message. */
    committedElapsedMs: number;
    recordsPerSecond: number;
    messagesPerSecond: number;
    megabytesPerSecond: number;
    /** Peak resident set of the pipeline process (chDB included when `options.clickhouse` is embedded). */
    peakRssMiB: number;
    /**
     * The largest of the process's RSS samples (every 100 ms), split into anonymous memory and pages
     * of mapped files (libraries, and the lmdb stores' files): what the peak was made of, roughly.
     * Null off Linux.
     */
    largestRssSampleMiB: { anon: number; file: number } | null;
    /** Peak resident set of the run's ClickHouse server process; null when embedded (or off Linux). */
    clickhouseServerPeakRssMiB: number | null;
    /**
     * The pipeline process over the throughput window (from just before the first record is produced
     * until the throughput phase ends): its CPU time on every thread (process.cpuUsage) and wall time
     * on its own clock. coresUsed = cpuMs / wallMs: near the machine's cores, it is CPU-bound; well
     * under 1, it mostly waits (on the broker, chDB's queue, commits).
     */
    throughputWindow: {
      wallMs: number;
      cpuUserMs: number;
      cpuSystemMs: number;
      cpuMs: number;
      /** Of cpuMs, the main thread's (the event loop's); null off Linux. */
      mainThreadCpuMs: number | null;
      /** Of cpuMs, the other threads' by thread name (chDB's pools, Node's `node` threads); null off Linux. */
      otherThreadsCpuMs: Record<string, number> | null;
      /** How late the main thread's event loop ran what was due: p99 and max over the window. */
      eventLoopDelayMs: { p99: number; max: number };
      coresUsed: number;
      /**
       * The local stack's processes over the same window, by service (kafka, schema-registry, s3): they
       * run on the same cores, and every record the pipeline writes or reads costs the broker CPU.
       */
      stackCpuMs: Record<string, number>;
    };
  };
  broker: BrokerBaseline;
  /** Pipeline rate over the broker's fetch rate on the same messages. */
  ratio: number;
  latency: {
    ratePerSecond: number;
    probes: number;
    received: number;
    p50Ms: number | null;
    p99Ms: number | null;
    maxMs: number | null;
  };
  /** With `--profile`: the V8 CPU profile of the pipeline's main thread over the throughput window. */
  profile?: ProfileSummary & { file: string };
}

/** Plain-text table: columns padded to their widest cell, numbers (cells starting with a digit) right-aligned. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const width = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (/^[-+]?\d/.test(cell) ? cell.padStart(width[i]!) : cell.padEnd(width[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), width.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** `1234.5` → `1,235` (no decimals from 100 up, one below 100, two below 10). */
export function formatNumber(value: number): string {
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

const or = (value: number | null, unit: string) =>
  value === null ? 'n/a' : `${formatNumber(value)} ${unit}`;

/** The figures as the table `stacklens bench` prints. */
export function benchTable(f: BenchFigures): string {
  const perMessage = f.workload.records / f.workload.messages;
  const brokerRecords = f.broker.fetchRecordsPerSecond * perMessage;
  const ratio = `${formatNumber(f.ratio * 100)} %`;
  const cpu = f.pipeline.throughputWindow;
  const rows: string[][] = [
    [
      'throughput',
      `${formatNumber(f.pipeline.recordsPerSecond)} records/s`,
      `${formatNumber(brokerRecords)} records/s`,
      ratio,
    ],
    [
      '',
      `${formatNumber(f.pipeline.messagesPerSecond)} messages/s`,
      `${formatNumber(f.broker.fetchRecordsPerSecond)} messages/s`,
      ratio,
    ],
    [
      '',
      `${formatNumber(f.pipeline.megabytesPerSecond)} MB/s`,
      `${formatNumber(f.broker.fetchMegabytesPerSecond)} MB/s`,
      ratio,
    ],
    [
      'time to read all',
      `${formatNumber(f.pipeline.elapsedMs / 1_000)} s`,
      `${formatNumber(f.broker.fetchMs / 1_000)} s`,
      '',
    ],
    // Which of the three applications the throughput waited for.
    ['  pipeline committed all', `${formatNumber(f.pipeline.committedElapsedMs / 1_000)} s`, '', ''],
    ['  ClickHouse holds all', `${formatNumber(f.pipeline.clickhouseElapsedMs / 1_000)} s`, '', ''],
    ['  archive covers all', `${formatNumber(f.pipeline.archiveElapsedMs / 1_000)} s`, '', ''],
    [`alert latency p50 (${formatNumber(f.latency.ratePerSecond)}/s)`, or(f.latency.p50Ms, 'ms'), '', ''],
    [`alert latency p99 (${formatNumber(f.latency.ratePerSecond)}/s)`, or(f.latency.p99Ms, 'ms'), '', ''],
    ['alerts received', `${f.latency.received} of ${f.latency.probes}`, '', ''],
    [
      `peak RSS${f.options.clickhouse === 'embedded' ? ' (chDB embedded)' : ''}`,
      `${formatNumber(f.pipeline.peakRssMiB)} MiB`,
      '',
      '',
    ],
    ...(f.pipeline.largestRssSampleMiB === null
      ? []
      : [
          [
            '  largest sample: anon + file-backed',
            `${formatNumber(f.pipeline.largestRssSampleMiB.anon)} + ${formatNumber(f.pipeline.largestRssSampleMiB.file)} MiB`,
            '',
            '',
          ],
        ]),
    ...(f.pipeline.clickhouseServerPeakRssMiB === null
      ? []
      : [
          [
            '  ClickHouse server process',
            `${formatNumber(f.pipeline.clickhouseServerPeakRssMiB)} MiB`,
            '',
            '',
          ],
        ]),
    [
      `CPU time in the ${formatNumber(cpu.wallMs / 1_000)} s throughput window`,
      `${formatNumber(cpu.cpuMs / 1_000)} s`,
      '',
      '',
    ],
    [
      '  user + system',
      `${formatNumber(cpu.cpuUserMs / 1_000)} s + ${formatNumber(cpu.cpuSystemMs / 1_000)} s`,
      '',
      '',
    ],
    [
      '  main thread + other threads',
      cpu.mainThreadCpuMs === null
        ? 'n/a'
        : `${formatNumber(cpu.mainThreadCpuMs / 1_000)} s + ${formatNumber(Math.max(0, cpu.cpuMs - cpu.mainThreadCpuMs) / 1_000)} s`,
      '',
      '',
    ],
    ...otherThreadRows(cpu.otherThreadsCpuMs),
    ['cores used (CPU time / wall time)', `${formatNumber(cpu.coresUsed)} of ${f.machine.cpus}`, '', ''],
    [
      'main thread event-loop delay p99 / max',
      `${formatNumber(cpu.eventLoopDelayMs.p99)} / ${formatNumber(cpu.eventLoopDelayMs.max)} ms`,
      '',
      '',
    ],
    ...stackRows(cpu.stackCpuMs, cpu.wallMs),
  ];
  const w = f.workload;
  return [
    `workload: ${w.traces} traces = ${w.spans} spans + ${w.logs} logs = ${w.records} records in ${w.messages} OTLP protobuf messages (${formatNumber(w.megabytes)} MB)`,
    formatTable(['figure', 'pipeline', 'broker', 'pipeline/broker'], rows),
  ].join('\n');
}

/** The profile's busy/idle split and top functions as a table. */
export function profileTable(profile: ProfileSummary & { file?: string }): string {
  const span = profile.busyMs + profile.idleMs;
  const busyPercent = span > 0 ? (100 * profile.busyMs) / span : 0;
  return [
    `pipeline CPU profile of the throughput window${profile.file === undefined ? '' : ` (${profile.file})`}`,
    `main thread: ${formatNumber(profile.busyMs / 1_000)} s busy, ${formatNumber(profile.idleMs / 1_000)} s idle (${formatNumber(busyPercent)} % busy)`,
    formatTable(
      ['self time', 'share', 'function'],
      profile.top.map((t) => [`${formatNumber(t.selfMs)} ms`, `${formatNumber(t.selfPercent)} %`, t.name]),
    ),
  ].join('\n');
}

/** The other threads' CPU time by name, most first, those of at least 0.1 s (none off Linux). */
function otherThreadRows(byName: Record<string, number> | null): string[][] {
  if (byName === null) return [];
  return Object.entries(byName)
    .filter(([, ms]) => ms >= 100)
    .sort(([, a], [, b]) => b - a)
    .map(([name, ms]) => [`    ${name} threads`, `${formatNumber(ms / 1_000)} s`, '', '']);
}

/** The local stack's CPU time in the window, per service, and the cores it used (none when unknown). */
function stackRows(byService: Record<string, number>, wallMs: number): string[][] {
  const entries = Object.entries(byService).sort(([, a], [, b]) => b - a);
  if (entries.length === 0) return [];
  const total = entries.reduce((sum, [, ms]) => sum + ms, 0);
  return [
    ['local stack CPU time in the window', `${formatNumber(total / 1_000)} s`, '', ''],
    ...entries.map(([name, ms]) => [`  ${name}`, `${formatNumber(ms / 1_000)} s`, '', '']),
    ['  cores used by the stack', `${formatNumber(wallMs > 0 ? total / wallMs : 0)}`, '', ''],
  ];
}
