import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCpuProfile, summarizeCpuProfile } from './cpu-profile';
import { Worker } from 'node:worker_threads';
import { byName, coresUsed, startCpuWindow } from './cpu-window';

/**
 * CPU time this thread has spent so far, in ms. On Linux it is the thread's own time
 * (/proc/thread-self/stat, 10 ms ticks), since process.cpuUsage() counts every thread of the process:
 * a burn that waited on it would end early whenever the process's other threads (GC helpers, another
 * worker) were busy, as on a loaded machine. Elsewhere it falls back to the process's time. Kept as
 * source text so that the worker thread below runs the same function; `readFileSync` is passed in,
 * since a Function built from text sees no module's `require` (it would always fall back).
 */
const threadCpuMsSource = `function threadCpuMs() {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  }
}`;
const threadCpuMs = new Function('readFileSync', `${threadCpuMsSource}; return threadCpuMs;`)(
  readFileSync,
) as () => number;

/** Keeps this thread busy until it has spent `ms` more of its own CPU time (a condition, not a clock). */
function burn(ms: number): number {
  const from = threadCpuMs();
  let x = 0;
  for (;;) {
    for (let i = 0; i < 100_000; i++) x += Math.sqrt(i);
    if (threadCpuMs() - from >= ms) return x;
  }
}

/**
 * The process's CPU time, in ms, spent while `work` ran: the window encloses it, so it must report at
 * least as much. A fixed floor (burn(20) → ≥ 20 ms) would not hold: burn counts in /proc's 10 ms ticks,
 * so a burn of "20 ms" can end after 10.1 ms of real CPU time.
 */
function processCpuMsOf(work: () => unknown): number {
  const from = process.cpuUsage();
  work();
  const { user, system } = process.cpuUsage(from);
  return (user + system) / 1000;
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
    const burnt = processCpuMsOf(() => burn(100));
    const spent = await window.stop();
    expect(burnt).toBeGreaterThan(0);
    expect(spent.userMs + spent.systemMs).toBeGreaterThanOrEqual(burnt);
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

  it('counts the CPU time of the other threads by thread name (Node names its own threads `node`)', async () => {
    const window = await startCpuWindow();
    // A worker thread that spends 100 ms of its own CPU time (a condition, not a clock), then stays
    // until the window is read: /proc forgets a thread that has exited.
    const worker = new Worker(
      `const { parentPort } = require('node:worker_threads');
       const { readFileSync } = require('node:fs');
       ${threadCpuMsSource}
       const from = threadCpuMs(); let x = 0;
       for (;;) { for (let i = 0; i < 100000; i++) x += Math.sqrt(i);
         if (threadCpuMs() - from >= 100) break; }
       // A listener keeps the port, and so the thread, alive until terminate().
       parentPort.on('message', () => {});
       parentPort.postMessage(x);`,
      { eval: true },
    );
    await new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject));
    const spent = await window.stop();
    await worker.terminate();
    if (process.platform === 'linux') expect(spent.otherThreadsMs?.node ?? 0).toBeGreaterThanOrEqual(50);
    else expect(spent.otherThreadsMs).toBeNull();
  });

  it('measures how late the event loop ran what was due while work held it', async () => {
    const window = await startCpuWindow();
    // The monitor's timer measures from its previous run: its first run after a held loop only starts
    // the count, so the loop is held twice, with one turn after each (timers due run first in a turn).
    const turn = () => new Promise((resolve) => setTimeout(resolve, 0));
    burn(20);
    await turn();
    // The burn holds the loop for at least its CPU time as measured here.
    const held = processCpuMsOf(() => burn(100));
    await turn();
    const spent = await window.stop();
    // The monitor counts a delay as its timer's lateness past its 10 ms period.
    expect(spent.eventLoopDelayMs.max).toBeGreaterThanOrEqual(held - 10);
    expect(spent.eventLoopDelayMs.p99).toBeLessThanOrEqual(spent.eventLoopDelayMs.max);
  });

  it('measures CPU time without a profile when no file is given', async () => {
    const window = await startCpuWindow();
    const burnt = processCpuMsOf(() => burn(20));
    const spent = await window.stop();
    expect(burnt).toBeGreaterThan(0);
    expect(spent.userMs + spent.systemMs).toBeGreaterThanOrEqual(burnt);
    expect(coresUsed(spent)).toBeGreaterThan(0);
  });
});

describe('coresUsed', () => {
  it('is CPU time over wall time, and 0 for an empty window', () => {
    const none = { mainThreadMs: null, otherThreadsMs: null, eventLoopDelayMs: { p99: 0, max: 0 } };
    expect(coresUsed({ wallMs: 2_000, userMs: 2_500, systemMs: 500, ...none })).toBeCloseTo(1.5);
    expect(coresUsed({ wallMs: 0, userMs: 1, systemMs: 0, ...none })).toBe(0);
  });
});

describe('byName', () => {
  it('sums what each thread spent between two readings by its name; a new thread counts from zero', () => {
    const from = new Map([
      [11, { name: 'MergeMutate', ms: 100 }],
      [12, { name: 'MergeMutate', ms: 50 }],
      [13, { name: 'node', ms: 70 }],
    ]);
    const to = new Map([
      [11, { name: 'MergeMutate', ms: 400 }],
      [12, { name: 'MergeMutate', ms: 150 }],
      [13, { name: 'node', ms: 70 }],
      [14, { name: 'ThreadPool', ms: 30 }],
    ]);
    expect(byName(from, to)).toEqual({ MergeMutate: 400, ThreadPool: 30 });
  });
});
