import { constants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import type { ClickHouseClient } from '@clickhouse/client';
import { HeadBucketCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { Admin } from 'kafkajs';
import type { ProbeResult, ReadinessProbe } from '../api/deps';
import type { StackLensConfig } from '../config/config';

const OK: ProbeResult = { ok: true };

/**
 * Concurrent callers of the probe share one check in flight. /ready answers after its own timeout, but
 * a check against an unreachable dependency keeps running (kafkajs retries); without this, every probe
 * request during an outage would start another one.
 */
export function singleFlight(probe: ReadinessProbe): ReadinessProbe {
  let inFlight: Promise<ProbeResult> | undefined;
  return () =>
    (inFlight ??= probe().finally(() => {
      inFlight = undefined;
    }));
}

/** Kafka: the cluster answers a metadata request with at least one broker. */
export function kafkaProbe(admin: Admin): ReadinessProbe {
  return async () => {
    const { brokers } = await admin.describeCluster();
    return brokers.length > 0 ? OK : { ok: false, error: 'the cluster reports no brokers' };
  };
}

/** Schema registry: the Confluent-compatible API lists subjects (cheap, and exercises the same API the serdes use). */
export function schemaRegistryProbe(url: string, timeoutMs: number): ReadinessProbe {
  // fetch refuses URLs with credentials (and its error would quote them): send them as a header instead.
  const target = new URL(`${url.replace(/\/+$/, '')}/subjects`);
  const headers: Record<string, string> = {};
  if (target.username !== '' || target.password !== '') {
    const user = decodeURIComponent(target.username);
    const password = decodeURIComponent(target.password);
    headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    target.username = '';
    target.password = '';
  }
  return async () => {
    try {
      // The signal ends the request itself, not just our wait for it: no socket outlives the probe.
      const res = await fetch(target, { headers, signal: AbortSignal.timeout(timeoutMs) });
      await res.body?.cancel();
      return res.ok ? OK : { ok: false, error: `GET /subjects answered ${res.status}` };
    } catch (err) {
      return { ok: false, error: reasonOf(err) };
    }
  };
}

/** ClickHouse (server or chDB): ping. */
export function clickhouseProbe(client: ClickHouseClient): ReadinessProbe {
  return async () => {
    const result = await client.ping();
    return result.success ? OK : { ok: false, error: result.error.message };
  };
}

/**
 * The streams app: running, with partitions assigned to this process, and committing while its input
 * has lag (StreamsApp.problem); `problem` says what is wrong, undefined when nothing is.
 */
export function pipelineProbe(problem: () => string | undefined): ReadinessProbe {
  return () => {
    const error = problem();
    return Promise.resolve(error === undefined ? OK : { ok: false, error });
  };
}

export interface ArchiveProbe {
  probe: ReadinessProbe;
  /** Releases the S3 client (nothing to release for a directory). */
  close(): void;
}

/**
 * The archive: HeadBucket on S3 (the bucket exists and the credentials may use it), or a writable
 * directory. The directory is created when missing, as the archive store would on its first write:
 * a fresh install is ready, a directory that cannot be created or written is not.
 */
export function archiveProbe(archive: StackLensConfig['archive'], timeoutMs: number): ArchiveProbe {
  const { s3, dir } = archive;
  if (s3 === undefined) {
    return {
      probe: async () => {
        await mkdir(dir, { recursive: true });
        await access(dir, constants.W_OK);
        return OK;
      },
      close: () => undefined,
    };
  }
  const config: S3ClientConfig = { endpoint: s3.endpoint, region: s3.region, forcePathStyle: true };
  if (s3.accessKeyId !== undefined && s3.secretAccessKey !== undefined) {
    config.credentials = { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
  }
  const client = new S3Client(config);
  return {
    probe: async () => {
      try {
        await client.send(new HeadBucketCommand({ Bucket: s3.bucket }), {
          abortSignal: AbortSignal.timeout(timeoutMs),
        });
        return OK;
      } catch (err) {
        // HeadBucket answers have no body: the SDK's message is often just "UnknownError", its name says more.
        return { ok: false, error: `bucket ${s3.bucket}: ${nameOf(err)} ${reasonOf(err)}` };
      }
    },
    close: () => client.destroy(),
  };
}

/** An error's message, with the system error code of its cause ("fetch failed" alone says little). */
function reasonOf(err: unknown): string {
  // Structural, not instanceof: fetch's errors come from another realm under jest.
  if (typeof err !== 'object' || err === null || !('message' in err)) return String(err);
  const { message, cause } = err as { message: unknown; cause?: { code?: unknown } };
  const code = cause?.code;
  return typeof code === 'string' ? `${String(message)} (${code})` : String(message);
}

function nameOf(err: unknown): string {
  return typeof err === 'object' && err !== null && 'name' in err ? String(err.name) : 'Error';
}
