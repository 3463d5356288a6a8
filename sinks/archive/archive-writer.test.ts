import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ArchiveWriter, mergeRequests } from './archive-writer';
import { FileSystemArchiveStore, InvalidArchiveKeyError } from './store';

const source = { topic: 'otel-traces', partition: 0, firstOffset: '7', lastOffset: '8' };

describe('mergeRequests', () => {
  it('concatenates the resource entries of a range in order', () => {
    expect(
      mergeRequests({
        signal: 'traces',
        source,
        timeMs: 0,
        requests: [
          { resourceSpans: [{ schemaUrl: 'a' }] },
          {},
          { resourceSpans: [{ schemaUrl: 'b' }, { schemaUrl: 'c' }] },
        ],
      }),
    ).toEqual({ resourceSpans: [{ schemaUrl: 'a' }, { schemaUrl: 'b' }, { schemaUrl: 'c' }] });
  });

  it('keeps logs as logs', () => {
    expect(
      mergeRequests({
        signal: 'logs',
        source,
        timeMs: 0,
        requests: [{ resourceLogs: [{ schemaUrl: 'x' }] }],
      }),
    ).toEqual({ resourceLogs: [{ schemaUrl: 'x' }] });
  });
});

describe('ArchiveWriter on the file system', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'stacklens-archive-unit-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes one gzip OTLP/JSON file under the key, and replaces it when the range is written again', async () => {
    const writer = new ArchiveWriter(new FileSystemArchiveStore(dir));
    const batch = {
      signal: 'traces' as const,
      source,
      timeMs: Date.UTC(2026, 10, 22, 8, 5),
      requests: [{ resourceSpans: [{ schemaUrl: 'v1' }] }],
    };

    const key = await writer.write(batch);
    await writer.write({ ...batch, requests: [{ resourceSpans: [{ schemaUrl: 'v2' }] }] });

    expect(key).toBe('traces/year=2026/month=11/day=22/hour=08/minute=05/otel-traces-0-7-8.json.gz');
    const folder = join(dir, 'traces', 'year=2026', 'month=11', 'day=22', 'hour=08', 'minute=05');
    expect(readdirSync(folder)).toEqual(['otel-traces-0-7-8.json.gz']);
    expect(
      JSON.parse(gunzipSync(readFileSync(join(folder, 'otel-traces-0-7-8.json.gz'))).toString('utf8')),
    ).toEqual({ resourceSpans: [{ schemaUrl: 'v2' }] });
  });

  it('lists keys under a prefix at any depth, like S3, and gets objects back', async () => {
    const store = new FileSystemArchiveStore(dir);
    await store.put('logs/a/t-0-1-2.json.gz', Buffer.from('one'));
    await store.put('logs/b/t-0-3-4.json.gz', Buffer.from('two'));
    await store.put('traces/a/t-0-1-2.json.gz', Buffer.from('three'));
    expect((await store.list('logs/')).sort()).toEqual(['logs/a/t-0-1-2.json.gz', 'logs/b/t-0-3-4.json.gz']);
    expect(await store.list('logs/a/t-0-1-')).toEqual(['logs/a/t-0-1-2.json.gz']);
    expect(await store.list('logs/a/t-0-9-')).toEqual([]);
    expect(await store.list('nothing/here/')).toEqual([]);
    expect((await store.get('logs/b/t-0-3-4.json.gz'))?.toString()).toBe('two');
    expect(await store.get('logs/b/missing.json.gz')).toBeUndefined();
  });

  it('refuses a key that leaves the directory', async () => {
    const store = new FileSystemArchiveStore(dir);
    await expect(store.put('../outside.json.gz', Buffer.from('x'))).rejects.toBeInstanceOf(
      InvalidArchiveKeyError,
    );
  });
});
