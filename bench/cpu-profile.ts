import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { z } from 'zod';
import { StackLensError } from '../common/errors';

/** A file that is not a V8 CPU profile (what `node --cpu-prof` writes). */
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
  samples: z.array(z.number()).default([]),
  timeDeltas: z.array(z.number()).default([]),
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
  busyMs: number;
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
 * are added up. `(idle)` is kept out of the ranking and reported apart. With `fromUs`, only the samples
 * from that time on count (to leave the process's start-up out).
 */
export function summarizeCpuProfile(
  profile: CpuProfile,
  options: { top?: number; root?: string; fromUs?: number } = {},
): ProfileSummary {
  const parsed = CpuProfileSchema.safeParse(profile);
  if (!parsed.success) throw new CpuProfileError(`not a V8 CPU profile: ${parsed.error.issues[0]?.message}`);
  const p = parsed.data;
  const root = options.root ?? process.cwd();
  const hits = hitsFrom(p, options.fromUs);
  const totalHits = [...hits.values()].reduce((sum, n) => sum + n, 0);
  const fromUs = Math.max(p.startTime, options.fromUs ?? p.startTime);
  const msPerHit = totalHits === 0 ? 0 : (p.endTime - fromUs) / 1_000 / totalHits;
  const byFunction = new Map<string, number>();
  let idleHits = 0;
  for (const node of p.nodes) {
    const count = hits.get(node.id) ?? 0;
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

/**
 * Samples per node: all of them (hitCount), or with `fromUs` only those taken from then on (each
 * sample's time is the profile's start plus the deltas up to it, on the clock of process.hrtime).
 */
function hitsFrom(p: z.output<typeof CpuProfileSchema>, fromUs: number | undefined): Map<number, number> {
  const hits = new Map<number, number>();
  if (fromUs === undefined || p.samples.length !== p.timeDeltas.length) {
    for (const node of p.nodes) hits.set(node.id, node.hitCount);
    return hits;
  }
  let t = p.startTime;
  p.samples.forEach((id, i) => {
    t += p.timeDeltas[i]!;
    if (t >= fromUs) hits.set(id, (hits.get(id) ?? 0) + 1);
  });
  return hits;
}

/** Reads the one `.cpuprofile` file node wrote into `dir`. */
export async function readCpuProfile(dir: string): Promise<CpuProfile> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length !== 1)
    throw new CpuProfileError(`expected one .cpuprofile in ${dir}, found ${files.length}`);
  return JSON.parse(await readFile(join(dir, files[0]!), 'utf8')) as CpuProfile;
}
