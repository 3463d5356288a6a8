import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCpuProfile, summarizeCpuProfile } from './cpu-profile';
import { coresUsed, startCpuWindow } from './cpu-window';

/** Keeps this thread busy until the process has spent `ms` more of CPU time (a condition, not a clock). */
function burn(ms: number): number {
  const from = process.cpuUsage();
  let x = 0;
  for (;;) {
    for (let i = 0; i < 100_000; i++) x += Math.sqrt(i);
    const spent = process.cpuUsage(from);
    if ((spent.user + spent.system) / 1_000 >= ms) return x;
  }
}

describe('startCpuWindow', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stacklens-cpu-window-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('measures the CPU time spent in the window and writes a profile of the window only', async () => {
    const file = join(dir, 'window.cpuprofile');
    const window = await startCpuWindow(file);
    burn(100);
    const spent = await window.stop();
    expect(spent.userMs + spent.systemMs).toBeGreaterThanOrEqual(100);
    // The burn ran on this (the main) thread; /proc counts in 10 ms ticks, hence the margin.
    if (process.platform === 'linux') expect(spent.mainThreadMs).toBeGreaterThanOrEqual(50);
    else expect(spent.mainThreadMs).toBeNull();
    expect(spent.wallMs).toBeGreaterThan(0);
    expect(coresUsed(spent)).toBeGreaterThan(0);
    expect(existsSync(file)).toBe(true);
    const summary = summarizeCpuProfile(await readCpuProfile(file), { root: __dirname });
    expect(summary.busyMs).toBeGreaterThan(0);
    expect(summary.top.map((t) => t.name)).toContainEqual(
      expect.stringMatching(/^burn \(cpu-window\.test\.ts:/),
    );
  });

  it('measures CPU time without a profile when no file is given', async () => {
    const window = await startCpuWindow();
    burn(20);
    const spent = await window.stop();
    expect(spent.userMs + spent.systemMs).toBeGreaterThanOrEqual(20);
    expect(coresUsed(spent)).toBeGreaterThan(0);
  });
});

describe('coresUsed', () => {
  it('is CPU time over wall time, and 0 for an empty window', () => {
    expect(coresUsed({ wallMs: 2_000, userMs: 2_500, systemMs: 500, mainThreadMs: null })).toBeCloseTo(1.5);
    expect(coresUsed({ wallMs: 0, userMs: 1, systemMs: 0, mainThreadMs: null })).toBe(0);
  });
});
