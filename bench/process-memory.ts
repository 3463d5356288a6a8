import { readFileSync } from 'node:fs';

/** What a process's resident set is made of, in KiB (Linux /proc/<pid>/status). */
export interface RssComposition {
  /** Private anonymous memory: the V8 heaps, Buffers, malloc'd native memory. */
  anonKb: number;
  /** Pages of mapped files: the program's libraries and, with `STATE_STORE=lmdb`, the stores' files. */
  fileKb: number;
}

/** One `<name>: <n> kB` field of a /proc/<pid>/status text; null when absent. */
export function statusFieldKb(status: string, name: string): number | null {
  const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status);
  return match === null ? null : Number(match[1]);
}

/** The resident set's composition in a /proc/<pid>/status text; null without the Rss lines. */
export function parseRssComposition(status: string): RssComposition | null {
  const anonKb = statusFieldKb(status, 'RssAnon');
  const fileKb = statusFieldKb(status, 'RssFile');
  return anonKb === null || fileKb === null ? null : { anonKb, fileKb };
}

/** The /proc status text of a process (this one by default); null off Linux or once it is gone. */
export function readStatus(pid: number | 'self' = 'self'): string | null {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
}

/**
 * This process's own peak resident set in KiB: VmHWM, the high-water mark of its address space.
 * Not getrusage's maxRSS: Linux carries the pre-exec peak over an execve, and a process spawned
 * with fork + exec counts, before its exec, every page of its parent. A pipeline spawned by a
 * 500 MiB test worker reported a 524 MiB peak whose largest sample was 195 MiB. maxRSS only off
 * Linux.
 */
export function ownPeakRssKb(): number {
  const status = readStatus();
  return (status === null ? null : statusFieldKb(status, 'VmHWM')) ?? process.resourceUsage().maxRSS;
}

/**
 * Samples this process's resident set every `intervalMs` and keeps the composition of the largest
 * sample. The peak (ownPeakRssKb) is exact but says nothing of what it was made of: mapped store
 * files are resident pages the kernel can drop and read again, the heaps are not. Sampling misses
 * peaks shorter than the interval, so the sample is read next to the peak, never instead of it.
 */
export function sampleRssComposition(intervalMs = 100): { stop(): RssComposition | null } {
  let largest: RssComposition | null = null;
  const sample = () => {
    const status = readStatus();
    const current = status === null ? null : parseRssComposition(status);
    if (current !== null && (largest === null || total(current) > total(largest))) largest = current;
  };
  sample();
  const timer = setInterval(sample, intervalMs).unref();
  return {
    stop() {
      clearInterval(timer);
      sample();
      return largest;
    },
  };
}

function total(rss: RssComposition): number {
  return rss.anonKb + rss.fileKb;
}
