import { readFileSync } from 'node:fs';

/** What a process's resident set is made of, in KiB (Linux /proc/<pid>/status). */
export interface RssComposition {
  /** Private anonymous memory: the V8 heaps, Buffers, malloc'd native memory. */
  anonKb: number;
  /** Pages of mapped files: the program's libraries and, with `STATE_STORE=lmdb`, the stores' files. */
  fileKb: number;
}

/** The composition of one `/proc/<pid>/status` text; null when it has no Rss lines (not Linux). */
export function parseRssComposition(status: string): RssComposition | null {
  const field = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status);
    return match === null ? null : Number(match[1]);
  };
  const anonKb = field('RssAnon');
  const fileKb = field('RssFile');
  return anonKb === null || fileKb === null ? null : { anonKb, fileKb };
}

/**
 * Samples this process's resident set every `intervalMs` and keeps the composition of the largest
 * sample. getrusage's peak (maxRSS) is exact but says nothing of what it was made of: mapped store
 * files are resident pages the kernel can drop and read again, the heaps are not. Sampling misses
 * peaks shorter than the interval, so the sample is read next to maxRSS, never instead of it.
 */
export function sampleRssComposition(intervalMs = 100): { stop(): RssComposition | null } {
  let largest: RssComposition | null = null;
  const sample = () => {
    let current: RssComposition | null;
    try {
      current = parseRssComposition(readFileSync('/proc/self/status', 'utf8'));
    } catch {
      current = null;
    }
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
