import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import {
  LOCAL_S3_ACCESS_KEY_ID,
  LOCAL_S3_BUCKET,
  LOCAL_S3_SECRET_ACCESS_KEY,
  localS3ClientConfig,
  localS3Endpoint,
} from '../../infra/services/s3';
import { stackSettingsFromEnv } from '../../infra/stack-settings';
import { ExportLogsServiceRequest } from '../../processors/otlp/proto';
import type { OtlpLogsRequest } from '../../processors/otlp/types';
import { ArchiveWriter, type ArchiveBatch } from '../../sinks/archive/archive-writer';
import { FileSystemArchiveStore, S3ArchiveStore } from '../../sinks/archive/store';

const at = Date.UTC(2026, 10, 22, 8, 5, 30);
const partition = 'year=2026/month=11/day=22/hour=08/minute=05';

function logsBatch(firstOffset: string, lastOffset: string, bodies: string[]): ArchiveBatch {
  return {
    signal: 'logs',
    source: { topic: 'otel-logs', partition: 1, firstOffset, lastOffset },
    timeMs: at,
    requests: bodies.map((body) => ({
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }] },
          scopeLogs: [{ logRecords: [{ timeUnixNano: '1795334730000000000', body: { stringValue: body } }] }],
        },
      ],
    })),
  };
}

const bodiesOf = (document: {
  resourceLogs: { scopeLogs: { logRecords: { body: { stringValue: string } }[] }[] }[];
}) => document.resourceLogs.map((r) => r.scopeLogs[0]!.logRecords[0]!.body.stringValue);

describe('archive on the local S3 (SeaweedFS)', () => {
  const settings = stackSettingsFromEnv();
  const reader = new S3Client(localS3ClientConfig(settings));
  // Each run writes under its own prefix, so a long-lived developer stack does not mix runs.
  const prefix = `archive-test/${randomUUID()}/`;
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  let store: S3ArchiveStore;

  beforeAll(() => {
    // No explicit keys: the store takes AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, as the app does.
    process.env.AWS_ACCESS_KEY_ID = LOCAL_S3_ACCESS_KEY_ID;
    process.env.AWS_SECRET_ACCESS_KEY = LOCAL_S3_SECRET_ACCESS_KEY;
    store = new S3ArchiveStore({
      endpoint: localS3Endpoint(settings),
      bucket: LOCAL_S3_BUCKET,
      region: 'us-east-1',
    });
  });

  afterAll(() => {
    store.close();
    reader.destroy();
    restoreEnv('AWS_ACCESS_KEY_ID', saved.id);
    restoreEnv('AWS_SECRET_ACCESS_KEY', saved.secret);
  });

  async function keysUnder(sub: string): Promise<string[]> {
    const listed = await reader.send(
      new ListObjectsV2Command({ Bucket: LOCAL_S3_BUCKET, Prefix: `${prefix}${sub}` }),
    );
    return (listed.Contents ?? []).map((o) => o.Key!);
  }

  it('writes a range as one gzip OTLP/JSON object under Hive-style time partitions', async () => {
    const key = await new ArchiveWriter(store, prefix).write(logsBatch('100', '101', ['a', 'b']));

    expect(key).toBe(`${prefix}${partition}/logs_otel-logs-1-100-101.json.gz`);
    const object = await reader.send(new GetObjectCommand({ Bucket: LOCAL_S3_BUCKET, Key: key }));
    expect(object.ContentType).toBe('application/json');
    expect(object.ContentEncoding).toBe('gzip');
    const document = JSON.parse(gunzipSync(await object.Body!.transformToByteArray()).toString('utf8'));
    expect(bodiesOf(document)).toEqual(['a', 'b']);
  });

  it('replaces the object when the same range is written again (one object, the latest content)', async () => {
    const writer = new ArchiveWriter(store, prefix);
    await writer.write(logsBatch('200', '201', ['first']));
    await writer.write(logsBatch('200', '201', ['replayed']));
    await writer.write(logsBatch('202', '202', ['next']));

    expect(await keysUnder(`${partition}/logs_otel-logs-1-20`)).toEqual([
      `${prefix}${partition}/logs_otel-logs-1-200-201.json.gz`,
      `${prefix}${partition}/logs_otel-logs-1-202-202.json.gz`,
    ]);
    const object = await reader.send(
      new GetObjectCommand({
        Bucket: LOCAL_S3_BUCKET,
        Key: `${prefix}${partition}/logs_otel-logs-1-200-201.json.gz`,
      }),
    );
    expect(
      bodiesOf(JSON.parse(gunzipSync(await object.Body!.transformToByteArray()).toString('utf8'))),
    ).toEqual(['replayed']);
  });
});

/**
 * What the Collector's awss3 receiver does in time-range mode (receiver/awss3receiver, s3reader.go and
 * receiver.go): per minute from starttime to endtime, list `<s3_prefix>/<year=…/minute=…>/<file_prefix>
 * <telemetry type>_`, gunzip a key ending in `.gz` (and drop that suffix), then unmarshal `.json` as
 * OTLP/JSON and `.binpb` as OTLP protobuf; any other key is skipped with a warning.
 */
async function receiveLogs(
  client: S3Client,
  options: { bucket: string; s3Prefix: string; filePrefix: string; startMs: number; endMs: number },
): Promise<{ key: string; format: string; bodies: string[] }[]> {
  const received: { key: string; format: string; bodies: string[] }[] = [];
  for (let t = options.startMs; t < options.endMs; t += 60_000) {
    const d = new Date(t);
    const two = (n: number) => String(n).padStart(2, '0');
    const timeKey = `year=${d.getUTCFullYear()}/month=${two(d.getUTCMonth() + 1)}/day=${two(d.getUTCDate())}/hour=${two(d.getUTCHours())}/minute=${two(d.getUTCMinutes())}`;
    const prefix = `${options.s3Prefix}/${timeKey}/${options.filePrefix}logs_`;
    const listed = await client.send(new ListObjectsV2Command({ Bucket: options.bucket, Prefix: prefix }));
    for (const object of listed.Contents ?? []) {
      const got = await client.send(new GetObjectCommand({ Bucket: options.bucket, Key: object.Key! }));
      let data = Buffer.from(await got.Body!.transformToByteArray());
      let key = object.Key!;
      if (key.endsWith('.gz')) {
        data = gunzipSync(data);
        key = key.slice(0, -'.gz'.length);
      }
      let request: OtlpLogsRequest;
      let format: string;
      if (key.endsWith('.json')) {
        format = 'otlp_json';
        request = JSON.parse(data.toString('utf8')) as OtlpLogsRequest;
      } else if (key.endsWith('.binpb')) {
        format = 'otlp_proto';
        request = ExportLogsServiceRequest.decode(data);
      } else continue;
      const bodies = (request.resourceLogs ?? []).flatMap((r) =>
        (r.scopeLogs ?? []).flatMap((sl) => (sl.logRecords ?? []).map((l) => l.body?.stringValue ?? '')),
      );
      received.push({ key: object.Key!, format, bodies });
    }
  }
  return received;
}

describe('the Collector awss3 receiver reads the archive', () => {
  const settings = stackSettingsFromEnv();
  const client = new S3Client(localS3ClientConfig(settings));
  afterAll(() => client.destroy());

  it.each([
    ['otlp_json', 'gzip'],
    ['otlp_json', 'none'],
    ['otlp_proto', 'gzip'],
    ['otlp_proto', 'none'],
  ] as const)(
    'finds and decodes %s objects with compression %s in time-range mode',
    async (marshaler, compression) => {
      const s3Prefix = `awss3-receiver-test/${randomUUID()}`;
      const store = new S3ArchiveStore({
        endpoint: localS3Endpoint(settings),
        bucket: LOCAL_S3_BUCKET,
        region: 'us-east-1',
        credentials: { accessKeyId: LOCAL_S3_ACCESS_KEY_ID, secretAccessKey: LOCAL_S3_SECRET_ACCESS_KEY },
      });
      const writer = new ArchiveWriter(store, `${s3Prefix}/`, { marshaler, compression });
      await writer.write(logsBatch('100', '101', ['a', 'b']));
      await writer.write({ ...logsBatch('102', '102', ['c']), timeMs: at + 60_000 });
      // A continuation marker must not be read as telemetry.
      await store.put(`_stacklens/continuations/${s3Prefix}/logs/otel-logs-1-5.json`, Buffer.from('{}'), {
        contentType: 'application/json',
        contentEncoding: 'identity',
      });
      store.close();

      const received = await receiveLogs(client, {
        bucket: LOCAL_S3_BUCKET,
        s3Prefix,
        filePrefix: '',
        startMs: Date.UTC(2026, 10, 22, 8, 0),
        endMs: Date.UTC(2026, 10, 22, 9, 0),
      });
      expect(received.map((r) => [r.format, r.bodies])).toEqual([
        [marshaler, ['a', 'b']],
        [marshaler, ['c']],
      ]);
      expect(received[0]!.key).toMatch(/\/minute=05\/logs_otel-logs-1-100-101\.(json|binpb)(\.gz)?$/);
    },
  );
});

describe('archive in a directory (no S3 endpoint configured)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'stacklens-archive-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('uses the same layout as the bucket and replaces a replayed range', async () => {
    const writer = new ArchiveWriter(new FileSystemArchiveStore(dir));
    const key = await writer.write(logsBatch('100', '101', ['a']));
    await writer.write(logsBatch('100', '101', ['a', 'b']));

    expect(key).toBe(`${partition}/logs_otel-logs-1-100-101.json.gz`);
    const folder = join(dir, ...partition.split('/'));
    expect(readdirSync(folder)).toEqual(['logs_otel-logs-1-100-101.json.gz']);
    expect(
      bodiesOf(
        JSON.parse(
          gunzipSync(readFileSync(join(folder, 'logs_otel-logs-1-100-101.json.gz'))).toString('utf8'),
        ),
      ),
    ).toEqual(['a', 'b']);
  });
});

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
