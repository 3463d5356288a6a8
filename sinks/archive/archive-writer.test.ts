import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants, gunzipSync, inflateRawSync } from 'node:zlib';
import { ExportTraceServiceRequest } from '../../processors/otlp/proto';
import { otlpJsonTracesToProto } from '../../processors/otlp/to-otlp-proto';
import { ArchiveWriter } from './archive-writer';
import type { GzipPiece } from './gzip-pieces';
import { FileSystemArchiveStore, InvalidArchiveKeyError } from './store';

const source = { topic: 'otel-traces', partition: 0, firstOffset: '7', lastOffset: '8' };

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

    expect(key).toBe('year=2026/month=11/day=22/hour=08/minute=05/traces_otel-traces-0-7-8.json.gz');
    const folder = join(dir, 'year=2026', 'month=11', 'day=22', 'hour=08', 'minute=05');
    expect(readdirSync(folder)).toEqual(['traces_otel-traces-0-7-8.json.gz']);
    expect(
      JSON.parse(gunzipSync(readFileSync(join(folder, 'traces_otel-traces-0-7-8.json.gz'))).toString('utf8')),
    ).toEqual({ resourceSpans: [{ schemaUrl: 'v2' }] });
  });

  it('writes otlp_proto uncompressed when so configured, with ids and 64-bit times as protobuf', async () => {
    const writer = new ArchiveWriter(new FileSystemArchiveStore(dir), '', {
      marshaler: 'otlp_proto',
      compression: 'none',
    });
    const span = {
      traceId: '5b8efff798038103d269b633813fc60c',
      spanId: 'eee19b7ec3c1b174',
      name: 'GET /',
      startTimeUnixNano: '1795334730000000001',
      links: [{ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' }],
    };
    const key = await writer.write({
      signal: 'traces',
      source,
      timeMs: Date.UTC(2026, 10, 22, 8, 5),
      requests: [{ resourceSpans: [{ scopeSpans: [{ spans: [span] }] }] }],
    });

    expect(key).toBe('year=2026/month=11/day=22/hour=08/minute=05/traces_otel-traces-0-7-8.binpb');
    const decoded = ExportTraceServiceRequest.toObject(
      ExportTraceServiceRequest.decode(readFileSync(join(dir, ...key.split('/')))),
      { longs: String, bytes: String },
    );
    const written = decoded.resourceSpans[0].scopeSpans[0].spans[0];
    expect(Buffer.from(written.traceId, 'base64').toString('hex')).toBe(span.traceId);
    expect(Buffer.from(written.links[0].spanId, 'base64').toString('hex')).toBe(span.links[0]!.spanId);
    expect(written.startTimeUnixNano).toBe(span.startTimeUnixNano);
  });

  it('merges a range into one request: the resource entries in offset order, as one JSON text', async () => {
    const writer = new ArchiveWriter(new FileSystemArchiveStore(dir), '', {
      marshaler: 'otlp_json',
      compression: 'none',
    });
    const requests = [
      { resourceSpans: [{ schemaUrl: 'a' }] },
      {},
      { resourceSpans: [] },
      { resourceSpans: [{ schemaUrl: 'b' }, { schemaUrl: 'c', resource: { attributes: [] } }] },
    ];
    const key = await writer.write({ signal: 'traces', source, timeMs: 0, requests });
    const merged = { resourceSpans: requests.flatMap((r) => r.resourceSpans ?? []) };
    // Byte for byte what JSON.stringify of the merged request gives.
    expect(readFileSync(join(dir, ...key.split('/')), 'utf8')).toBe(JSON.stringify(merged));

    const logs = await writer.write({
      signal: 'logs',
      source: { ...source, topic: 'otel-logs' },
      timeMs: 0,
      requests: [{}, { resourceLogs: [{ schemaUrl: 'x' }] }],
    });
    expect(JSON.parse(readFileSync(join(dir, ...logs.split('/')), 'utf8'))).toEqual({
      resourceLogs: [{ schemaUrl: 'x' }],
    });
    const empty = await writer.write({ signal: 'logs', source, timeMs: 1, requests: [{}] });
    expect(readFileSync(join(dir, ...empty.split('/')), 'utf8')).toBe('{"resourceLogs":[]}');
  });

  it('merges otlp_proto requests into the bytes of the merged request', async () => {
    const writer = new ArchiveWriter(new FileSystemArchiveStore(dir), '', {
      marshaler: 'otlp_proto',
      compression: 'none',
    });
    const requests = [
      {
        resourceSpans: [
          { schemaUrl: 'a', scopeSpans: [{ spans: [{ name: 'one', spanId: 'eee19b7ec3c1b174' }] }] },
        ],
      },
      { resourceSpans: [{ schemaUrl: 'b' }] },
    ];
    const key = await writer.write({ signal: 'traces', source, timeMs: 0, requests });
    const written = readFileSync(join(dir, ...key.split('/')));
    expect(
      Buffer.compare(
        written,
        Buffer.from(otlpJsonTracesToProto({ resourceSpans: requests.flatMap((r) => r.resourceSpans) })),
      ),
    ).toBe(0);
  });

  it('holds each request compressed, and writes ONE gzip member of the merged request', async () => {
    const requests = [
      { resourceSpans: [{ schemaUrl: 'a', scopeSpans: [{ spans: [{ name: 'x'.repeat(4_000) }] }] }] },
      {},
      { resourceSpans: [{ schemaUrl: 'b' }, { schemaUrl: 'c' }] },
    ];
    const merged = { resourceSpans: requests.flatMap((r) => r.resourceSpans ?? []) };
    /** The text of the file's LAST gzip member is as long as all of it only when there is one member. */
    const oneMember = (file: Buffer): string => {
      const text = gunzipSync(file).toString('utf8');
      expect(file.readUInt32LE(file.length - 4)).toBe(Buffer.byteLength(text));
      return text;
    };

    const json = new ArchiveWriter(new FileSystemArchiveStore(dir));
    const held = json.encode('traces', requests[0]!) as GzipPiece;
    expect(held.deflated.length).toBeLessThan(200);
    // A piece ends without the final block: inflate it as far as it goes.
    expect(inflateRawSync(held.deflated, { finishFlush: constants.Z_SYNC_FLUSH }).toString('utf8')).toBe(
      JSON.stringify(requests[0]!.resourceSpans).slice(1, -1),
    );
    expect(json.encode('traces', requests[1]!)).toBeUndefined();
    const key = await json.write({ signal: 'traces', source, timeMs: 0, requests });
    expect(oneMember(readFileSync(join(dir, ...key.split('/'))))).toBe(JSON.stringify(merged));
    const empty = await json.write({ signal: 'logs', source, timeMs: 1, requests: [{}] });
    expect(oneMember(readFileSync(join(dir, ...empty.split('/'))))).toBe('{"resourceLogs":[]}');

    const proto = new ArchiveWriter(new FileSystemArchiveStore(dir), '', {
      marshaler: 'otlp_proto',
      compression: 'gzip',
    });
    const binary = await proto.write({ signal: 'traces', source, timeMs: 2, requests });
    const file = readFileSync(join(dir, ...binary.split('/')));
    expect(Buffer.compare(gunzipSync(file), Buffer.from(otlpJsonTracesToProto(merged)))).toBe(0);
    expect(file.readUInt32LE(file.length - 4)).toBe(gunzipSync(file).length);
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
