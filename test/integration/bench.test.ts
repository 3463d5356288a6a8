import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchOptions } from '../../bench/bench-options';
import { runBench } from '../../bench/run-bench';
import { createLogger } from '../../common/logger';
import { withLocalStackDefaults } from '../../infra/local-stack-env';
import { stackSettingsFromEnv } from '../../infra/stack-settings';

// A smoke run of `stacklens bench` with tiny sizes: the figures must be there and agree with each
// other. Nothing about how fast (timed assertions are not allowed); the benchmark prints those.
// The pipeline process runs from the build (dist/), as `npm run bench` does.
const script = join(__dirname, '../../dist/bench/pipeline-process.js');

describe('runBench', () => {
  let profileDir: string;
  beforeEach(async () => {
    profileDir = await mkdtemp(join(tmpdir(), 'stacklens-bench-profile-'));
  });
  afterEach(async () => {
    await rm(profileDir, { recursive: true, force: true });
  });

  it('measures throughput, CPU, alert latency, peak memory and the broker baseline on tiny sizes', async () => {
    expect(existsSync(script)).toBe(true); // `npm run build` makes it
    const settings = stackSettingsFromEnv();
    const options = benchOptions({
      traces: 10,
      latencyProbes: 5,
      latencyRate: 5,
      timeoutSeconds: 60,
      profileDir,
    });
    const f = await runBench(options, {
      env: withLocalStackDefaults({ ...process.env, KAFKA_BROKERS: undefined }, settings),
      settings,
      logger: createLogger({ level: 'warn', format: 'text', name: 'bench-it' }),
      pipelineScript: script,
    });
    expect(f.workload.traces).toBe(10);
    expect(f.workload.records).toBe(f.workload.spans + f.workload.logs);
    expect(f.workload.spans).toBe(10 * options.spansPerTrace);
    expect(f.broker.records).toBe(f.workload.messages);
    expect(f.pipeline.recordsPerSecond).toBeGreaterThan(0);
    expect(f.pipeline.elapsedMs).toBeGreaterThanOrEqual(f.pipeline.clickhouseElapsedMs);
    expect(f.ratio).toBeCloseTo(f.pipeline.messagesPerSecond / f.broker.fetchRecordsPerSecond, 6);
    expect(f.pipeline.peakRssMiB).toBeGreaterThan(0);
    // The largest sample is one of the resident sets the peak bounds, near it (the kernel's split
    // counters behind RssAnon and RssFile may lag the peak's by a few pages per thread), and it holds
    // the libraries' pages.
    const sample = f.pipeline.largestRssSampleMiB;
    expect(sample!.anon + sample!.file).toBeGreaterThan(f.pipeline.peakRssMiB * 0.5);
    expect(sample!.anon + sample!.file).toBeLessThan(f.pipeline.peakRssMiB * 1.05);
    expect(sample!.file).toBeGreaterThan(0);
    // ClickHouse is the run's own server process (the default): its memory and CPU are its own.
    expect(f.options.clickhouse).toBe('server');
    expect(f.pipeline.clickhouseServerPeakRssMiB).toBeGreaterThan(0);
    expect(f.pipeline.throughputWindow.stackCpuMs.clickhouse).toBeGreaterThan(0);
    expect(f.latency.received).toBe(5);
    expect(f.latency.p50Ms).toBeGreaterThan(0);
    expect(f.latency.p99Ms).toBeGreaterThanOrEqual(f.latency.p50Ms!);
    expect(f.latency.maxMs).toBeGreaterThanOrEqual(f.latency.p99Ms!);

    // The throughput window: the pipeline process's CPU time over it, and its profile of it alone.
    const cpu = f.pipeline.throughputWindow;
    expect(cpu.wallMs).toBeGreaterThan(0);
    expect(cpu.cpuMs).toBeCloseTo(cpu.cpuUserMs + cpu.cpuSystemMs, 6);
    expect(cpu.cpuMs).toBeGreaterThan(0);
    expect(cpu.coresUsed).toBeGreaterThan(0);
    expect(cpu.coresUsed).toBeCloseTo(cpu.cpuMs / cpu.wallMs, 6);
    expect(cpu.mainThreadCpuMs).toBeGreaterThanOrEqual(0); // Linux: the pipeline's event loop
    expect(cpu.mainThreadCpuMs).toBeLessThanOrEqual(cpu.cpuMs + 20); // /proc counts 10 ms ticks
    expect(f.profile).toBeDefined();
    expect(f.profile!.file.startsWith(profileDir)).toBe(true);
    expect(existsSync(f.profile!.file)).toBe(true);
    expect(f.profile!.busyMs).toBeGreaterThan(0);
    expect(f.profile!.top.length).toBeGreaterThan(0);
    expect(f.profile!.top.every((t) => t.name !== '(idle)' && t.selfMs > 0)).toBe(true);
    // The profile spans the window, not start to exit (its ends differ from the CPU window's by the
    // few statements between them; start-up and the latency phase would add seconds).
    expect(f.profile!.busyMs + f.profile!.idleMs).toBeLessThanOrEqual(cpu.wallMs + 2_000);
  });
});
