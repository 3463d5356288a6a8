import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRssComposition, sampleRssComposition } from './process-memory';

describe('parseRssComposition', () => {
  it('reads the anonymous and file-backed resident set of a /proc status text', () => {
    const status = [
      'Name:\tnode',
      'VmHWM:\t  480000 kB',
      'VmRSS:\t  470000 kB',
      'RssAnon:\t  450000 kB',
      'RssFile:\t   19000 kB',
      'RssShmem:\t    1000 kB',
    ].join('\n');
    expect(parseRssComposition(status)).toEqual({ anonKb: 450_000, fileKb: 19_000 });
  });

  it('is null for a text without the Rss lines', () => {
    expect(parseRssComposition('Name:\tnode\nVmRSS:\t 1 kB')).toBeNull();
  });
});

describe('sampleRssComposition', () => {
  it('keeps a sample that counts memory this process just touched', () => {
    const sampler = sampleRssComposition(60_000);
    const before = parseRssComposition(readFileSync('/proc/self/status', 'utf8'));
    // 64 MiB written page by page: resident anonymous memory that the sample taken by stop() must see
    // (half of it is asked for, so that a collection meanwhile returning some heap cannot fail it).
    const block = Buffer.alloc(64 * 1024 * 1024, 1);
    const largest = sampler.stop();
    expect(block[block.length - 1]).toBe(1);
    expect(before).not.toBeNull();
    expect(largest?.anonKb).toBeGreaterThanOrEqual((before?.anonKb ?? 0) + 32 * 1024);
    expect(largest?.fileKb).toBeGreaterThan(0);
  });
});

describe('ownPeakRssKb', () => {
  it("is the process's own peak, not the parent's memory that Linux's maxRSS carries over an exec", () => {
    // The parent (this test worker) holds 256 MiB more than a fresh Node process needs.
    const held = Buffer.alloc(256 * 1024 * 1024, 1);
    const child = spawnSync(
      process.execPath,
      [
        '-e',
        `require('ts-node').register({ transpileOnly: true, swc: true });
         const { ownPeakRssKb } = require(${JSON.stringify(join(__dirname, 'process-memory.ts'))});
         console.log(JSON.stringify({ own: ownPeakRssKb(), maxRss: process.resourceUsage().maxRSS }));`,
      ],
      { encoding: 'utf8' },
    );
    expect(held[held.length - 1]).toBe(1);
    expect(child.status).toBe(0);
    const { own, maxRss } = JSON.parse(child.stdout) as { own: number; maxRss: number };
    // What the test stands on: the child's maxRSS counts the parent's pages from before its exec.
    expect(maxRss).toBeGreaterThan(256 * 1024);
    expect(own).toBeGreaterThan(0);
    expect(own).toBeLessThan(maxRss - 128 * 1024);
  });
});
