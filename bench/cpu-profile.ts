import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { z } from 'zod';
import { StackLensError } from '../common/errors';

/** A file that is not a V8 CPU profile (what `node --cpu-prof` or the inspector's Profiler.stop gives). */
export class CpuProfileError extends StackLensError {}

const CpuProfileSchema = z.object({
  nodes: z.array(
    z.object({
      id: z.number(),
      callFrame: z.object({ functionName: z.string(), url: z.string(), lineNumber: z.number() }),
    }),
  ),
  startTime: z.number(),
  endTime: z.number(),
  /** The node sampled at each tick, and the µs since the previous tick (the first: since startTime). */
  samples: z.array(z.number()),
  timeDeltas: z.array(z.number()),
});
export type CpuProfile = z.input<typeof CpuProfileSchema>;

/** One function's share of the samples. */
export interface HotFunction {
  /** `name (where:line)`; where is a path relative to the project or a package name. */
  name: string;
  selfMs: number;
  /** Of the busy time (everything but idle). */
  selfPercent: number;
}

export interface ProfileSummary {
  /**
   * Time the profiled thread was not waiting in the event loop: running JavaScript, native code or GC,
   * or ready to but not given a core (on a busy machine); busyMs + idleMs spans first to last sample.
   */
  busyMs: number;
  /** Time it waited in the event loop for I/O or timers. */
  idleMs: number;
  top: HotFunction[];
}

/** Where a frame comes from, short: `pkg:kafkajs/src/…` for dependencies, a project path otherwise. */
function where(url: string, root: string): string {
  if (url === '') return '';
  const path = url.startsWith('file://') ? url.slice('file://'.length) : url;
  const inModules = path.lastIndexOf('/node_modules/');
  if (inModules >= 0) return `pkg:${path.slice(inModules + '/node_modules/'.length)}`;
  return path.startsWith('/') ? relative(root, path) : path;
}

/**
 * Self time per function: each sample stands for the time until the next one (the last: until the
 * profile's end), as DevTools counts it. Not the samples' share of the whole span: starting the
 * profiler blocks the thread (it logs every compiled function) before the first sample, and a loaded
 * machine delays ticks, so samples are not evenly spaced. Frames of the same function (one per call
 * path) are added up. `(idle)` is kept out of the ranking and reported apart.
 */
export function summarizeCpuProfile(
  profile: CpuProfile,
  options: { top?: number; root?: string } = {},
): ProfileSummary {
  const parsed = CpuProfileSchema.safeParse(profile);
  if (!parsed.success) throw new CpuProfileError(`not a V8 CPU profile: ${parsed.error.issues[0]?.message}`);
  const p = parsed.data;
  const root = options.root ?? process.cwd();
  if (p.samples.length !== p.timeDeltas.length)
    throw new CpuProfileError(
      `not a V8 CPU profile: ${p.samples.length} samples but ${p.timeDeltas.length} time deltas`,
    );
  const msByNode = new Map<number, number>();
  let at = p.startTime;
  p.samples.forEach((id, i) => {
    at += p.timeDeltas[i]!;
    const until = i + 1 < p.samples.length ? at + p.timeDeltas[i + 1]! : p.endTime;
    // Ticks can be recorded a few µs out of order: such a sample stands for no time.
    msByNode.set(id, (msByNode.get(id) ?? 0) + Math.max(0, until - at) / 1_000);
  });
  const byFunction = new Map<string, number>();
  let idleMs = 0;
  let busyMs = 0;
  for (const node of p.nodes) {
    const ms = msByNode.get(node.id) ?? 0;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idleMs += ms;
      continue;
    }
    busyMs += ms;
    const source = where(url, root);
    const fn = functionName || '(anonymous)';
    const name = source === '' ? fn : `${fn} (${source}:${lineNumber + 1})`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + ms);
  }
  const top = [...byFunction]
    .filter(([, ms]) => ms > 0)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, options.top ?? 15)
    .map(([name, ms]) => ({ name, selfMs: ms, selfPercent: busyMs === 0 ? 0 : (100 * ms) / busyMs }));
  return { busyMs, idleMs, top };
}

/** Reads a `.cpuprofile` file. */
export async function readCpuProfile(file: string): Promise<CpuProfile> {
  return JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
}
