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
      hitCount: z.number().default(0),
    }),
  ),
  startTime: z.number(),
  endTime: z.number(),
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
  /** Time the profiled thread ran (JavaScript, native code, GC); busyMs + idleMs is the profile's span. */
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
 * Self time per function: samples are taken at a fixed interval, so a function's self time is its
 * share of the samples times the profile's duration. Frames of the same function (one per call path)
 * are added up. `(idle)` is kept out of the ranking and reported apart.
 */
export function summarizeCpuProfile(
  profile: CpuProfile,
  options: { top?: number; root?: string } = {},
): ProfileSummary {
  const parsed = CpuProfileSchema.safeParse(profile);
  if (!parsed.success) throw new CpuProfileError(`not a V8 CPU profile: ${parsed.error.issues[0]?.message}`);
  const p = parsed.data;
  const root = options.root ?? process.cwd();
  const totalHits = p.nodes.reduce((sum, node) => sum + node.hitCount, 0);
  const msPerHit = totalHits === 0 ? 0 : (p.endTime - p.startTime) / 1_000 / totalHits;
  const byFunction = new Map<string, number>();
  let idleHits = 0;
  for (const node of p.nodes) {
    const count = node.hitCount;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idleHits += count;
      continue;
    }
    const at = where(url, root);
    const fn = functionName || '(anonymous)';
    const name = at === '' ? fn : `${fn} (${at}:${lineNumber + 1})`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + count);
  }
  const busyHits = totalHits - idleHits;
  const top = [...byFunction]
    .filter(([, count]) => count > 0)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, options.top ?? 15)
    .map(([name, count]) => ({
      name,
      selfMs: count * msPerHit,
      selfPercent: busyHits === 0 ? 0 : (100 * count) / busyHits,
    }));
  return { busyMs: busyHits * msPerHit, idleMs: idleHits * msPerHit, top };
}

/** Reads a `.cpuprofile` file. */
export async function readCpuProfile(file: string): Promise<CpuProfile> {
  return JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
}
