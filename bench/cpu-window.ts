import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { CpuWindow } from './pipeline-protocol';

/** A window being measured in this process; `stop` ends it. */
export interface RunningCpuWindow {
  /** Ends the window: its CPU and wall time, after writing the profile file if one was asked for. */
  stop(): Promise<CpuWindow>;
}

/**
 * Starts measuring this process's CPU time and, with `cpuProfileFile`, a V8 CPU profile of its main
 * thread through node:inspector: unlike `node --cpu-prof`, which covers start to exit, the profile
 * then holds only the window (the benchmark's throughput phase), so the idle phases around it do not
 * dilute it.
 */
export async function startCpuWindow(cpuProfileFile?: string): Promise<RunningCpuWindow> {
  const session = cpuProfileFile === undefined ? undefined : new Session();
  if (session !== undefined) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  const loopDelay = monitorEventLoopDelay({ resolution: EVENT_LOOP_DELAY_RESOLUTION_MS });
  loopDelay.enable();
  const wallFrom = process.hrtime.bigint();
  const cpuFrom = process.cpuUsage();
  const mainFrom = mainThreadCpuMs();
  const threadsFrom = threadCpuMs();
  return {
    async stop() {
      const cpu = process.cpuUsage(cpuFrom);
      const mainTo = mainThreadCpuMs();
      const threadsTo = threadCpuMs();
      const wallMs = Number(process.hrtime.bigint() - wallFrom) / 1e6;
      loopDelay.disable();
      if (session !== undefined && cpuProfileFile !== undefined) {
        const { profile } = await session.post('Profiler.stop');
        await session.post('Profiler.disable');
        session.disconnect();
        await writeFile(cpuProfileFile, JSON.stringify(profile));
      }
      return {
        wallMs,
        userMs: cpu.user / 1_000,
        systemMs: cpu.system / 1_000,
        mainThreadMs: mainFrom === null || mainTo === null ? null : mainTo - mainFrom,
        otherThreadsMs: threadsFrom === null || threadsTo === null ? null : byName(threadsFrom, threadsTo),
        // The histogram counts in ns.
        eventLoopDelayMs: { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
      };
    },
  };
}

/** How often the event loop's delay is sampled: a delay shorter than this is not seen. */
const EVENT_LOOP_DELAY_RESOLUTION_MS = 10;

/** /proc reports a thread's times in USER_HZ ticks, 100 per second on every Linux architecture. */
const MS_PER_TICK = 10;

/**
 * CPU time (user + system) of the main thread so far, from /proc/self/task/<pid>/stat on Linux; null
 * elsewhere (Node 20 has no per-thread cpuUsage). Next to the process's CPU time it tells the event
 * loop's share from that of the other threads (chDB, libuv's pool); next to the profile's busy time,
 * how long the main thread was ready to run but had no core.
 */
function mainThreadCpuMs(): number | null {
  return taskCpuMs(process.pid)?.ms ?? null;
}

/** A thread's name (its `comm`, e.g. chDB's MergeMutate) and CPU time so far; null when unreadable. */
function taskCpuMs(tid: number): { name: string; ms: number } | null {
  return statCpuMs(`/proc/self/task/${tid}/stat`);
}

/**
 * Another process's CPU time so far (every thread of it: user + system), e.g. the local broker's;
 * null when it cannot be read (not Linux, no such process).
 */
export function processCpuMs(pid: number): number | null {
  return statCpuMs(`/proc/${pid}/stat`)?.ms ?? null;
}

/** The name and CPU time (user + system) in a /proc stat file; null when unreadable. */
function statCpuMs(file: string): { name: string; ms: number } | null {
  let stat: string;
  try {
    stat = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  // Fields 14 and 15 (utime, stime) counted from 1; the command name (field 2) may hold spaces, so
  // count from the ")" that ends it, which is followed by field 3.
  const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { name, ms: (Number(fields[11]) + Number(fields[12])) * MS_PER_TICK };
}

/** Every thread of the process but the main one, by thread id; null off Linux. */
function threadCpuMs(): Map<number, { name: string; ms: number }> | null {
  let tids: number[];
  try {
    tids = readdirSync('/proc/self/task').map(Number);
  } catch {
    return null;
  }
  const threads = new Map<number, { name: string; ms: number }>();
  for (const tid of tids) {
    const thread = tid === process.pid ? null : taskCpuMs(tid);
    if (thread !== null) threads.set(tid, thread);
  }
  return threads;
}

/**
 * CPU time spent between two readings by the threads other than the main one, summed by thread name:
 * chDB names its pools (MergeMutate: background merges of parts; ThreadPool: inserts and queries),
 * while Node's own threads (worker threads such as the archive's, V8's GC and compiler helpers,
 * libuv's pool) are all `node`. A thread that started within the window counts from zero; one that
 * ended within it is missing (the pipeline's threads live through the window).
 */
export function byName(
  from: ReadonlyMap<number, { name: string; ms: number }>,
  to: ReadonlyMap<number, { name: string; ms: number }>,
): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const [tid, { name, ms }] of to) {
    const spent = ms - (from.get(tid)?.ms ?? 0);
    if (spent > 0) totals[name] = (totals[name] ?? 0) + spent;
  }
  return totals;
}

/** Cores the process kept busy on average over the window: CPU time over wall time (0 for no time). */
export function coresUsed(window: CpuWindow): number {
  return window.wallMs > 0 ? (window.userMs + window.systemMs) / window.wallMs : 0;
}
