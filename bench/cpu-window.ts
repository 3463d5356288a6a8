import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
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
  const wallFrom = process.hrtime.bigint();
  const cpuFrom = process.cpuUsage();
  return {
    async stop() {
      const cpu = process.cpuUsage(cpuFrom);
      const wallMs = Number(process.hrtime.bigint() - wallFrom) / 1e6;
      if (session !== undefined && cpuProfileFile !== undefined) {
        const { profile } = await session.post('Profiler.stop');
        await session.post('Profiler.disable');
        session.disconnect();
        await writeFile(cpuProfileFile, JSON.stringify(profile));
      }
      return { wallMs, userMs: cpu.user / 1_000, systemMs: cpu.system / 1_000 };
    },
  };
}

/** Cores the process kept busy on average over the window: CPU time over wall time (0 for no time). */
export function coresUsed(window: CpuWindow): number {
  return window.wallMs > 0 ? (window.userMs + window.systemMs) / window.wallMs : 0;
}
