import { readFileSync } from 'node:fs';
import { parseRssComposition, sampleRssComposition } from './rss-sample';

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
