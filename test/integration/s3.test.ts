import { randomUUID } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { LOCAL_S3_BUCKET, localS3ClientConfig } from '../../infra/services/s3';
import { stackSettingsFromEnv } from '../../infra/stack-settings';

// The local stack's S3 (SeaweedFS) as the archive sink sees it: signed requests, path-style URLs.
describe('local S3 (SeaweedFS)', () => {
  const client = new S3Client(localS3ClientConfig(stackSettingsFromEnv()));
  // A fresh prefix per run, so a developer's long-lived stack never shows a previous run's objects.
  const prefix = `s3-test/${randomUUID()}/`;

  afterAll(() => client.destroy());

  it('stores an object and returns the same bytes', async () => {
    const body = JSON.stringify({ resourceLogs: [], note: 'ünïcödé' });
    await client.send(
      new PutObjectCommand({
        Bucket: LOCAL_S3_BUCKET,
        Key: `${prefix}one.json`,
        Body: body,
        ContentType: 'application/json',
      }),
    );

    const got = await client.send(
      new GetObjectCommand({ Bucket: LOCAL_S3_BUCKET, Key: `${prefix}one.json` }),
    );

    expect(got.ContentType).toBe('application/json');
    expect(await got.Body!.transformToString('utf8')).toBe(body);
  });

  it('lists only the keys under a prefix, in key order', async () => {
    const keys = [
      'logs/year=2026/month=11/a',
      'logs/year=2026/month=11/b',
      'logs/year=2026/month=12/c',
      'traces/year=2026/month=11/d',
    ];
    for (const key of keys) {
      await client.send(new PutObjectCommand({ Bucket: LOCAL_S3_BUCKET, Key: `${prefix}${key}`, Body: key }));
    }

    const listed = await client.send(
      new ListObjectsV2Command({ Bucket: LOCAL_S3_BUCKET, Prefix: `${prefix}logs/year=2026/month=11/` }),
    );

    expect((listed.Contents ?? []).map((o) => o.Key)).toEqual([
      `${prefix}logs/year=2026/month=11/a`,
      `${prefix}logs/year=2026/month=11/b`,
    ]);
  });

  it('rejects a request signed with the wrong secret', async () => {
    const config = localS3ClientConfig(stackSettingsFromEnv());
    const intruder = new S3Client({
      ...config,
      credentials: { accessKeyId: 'stacklens', secretAccessKey: 'not-the-secret' },
      maxAttempts: 1,
    });
    try {
      await expect(
        intruder.send(new GetObjectCommand({ Bucket: LOCAL_S3_BUCKET, Key: `${prefix}one.json` })),
      ).rejects.toMatchObject({
        name: 'SignatureDoesNotMatch',
      });
    } finally {
      intruder.destroy();
    }
  });
});
