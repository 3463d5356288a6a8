import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { StackLensError } from '../../common/errors';

/** A key that would leave the archive's directory. */
export class InvalidArchiveKeyError extends StackLensError {}

/** Where archive objects go. Keys are `/`-separated relative paths (see ./layout.ts). */
export interface ArchiveStore {
  /** Writes the object, replacing any object under the same key. */
  put(key: string, body: Buffer, meta: { contentType: string; contentEncoding: string }): Promise<void>;
  /** Keys that start with `prefix`; its part after the last `/` may be the start of a name. */
  list(prefix: string): Promise<string[]>;
  /** The object's body as stored, or undefined when there is no object under the key. */
  get(key: string): Promise<Buffer | undefined>;
  /** Releases connections; the store is unusable afterwards. */
  close(): void;
}

export interface S3ArchiveOptions {
  /** e.g. http://127.0.0.1:8333 for the local stack; path-style addressing is used. */
  endpoint: string;
  bucket: string;
  region: string;
  /**
   * Explicit keys; when absent the SDK's default chain applies, i.e. AWS_ACCESS_KEY_ID and
   * AWS_SECRET_ACCESS_KEY from the environment.
   */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** A request whose socket moves no byte for this long fails; default S3_IDLE_TIMEOUT_MS. */
  idleTimeoutMs?: number;
}

/**
 * The SDK sets no timeout of its own: an S3 server that took a request and never answered held the
 * archive's flush, and so its commits, for good. Failing the request after this long with no byte
 * moving (not after a total time: a large object on a slow link still uploads) lets the runtime retry
 * the flush (topology/runtime/sink-flush.ts), as it does for any sink that fails.
 */
export const S3_IDLE_TIMEOUT_MS = 30_000;

/** S3 or an S3-compatible server (SeaweedFS in the local stack). The bucket must exist. */
export class S3ArchiveStore implements ArchiveStore {
  private readonly client: S3Client;

  constructor(private readonly options: S3ArchiveOptions) {
    const config: S3ClientConfig = {
      endpoint: options.endpoint,
      region: options.region,
      forcePathStyle: true,
      requestHandler: {
        connectionTimeout: 5_000,
        socketTimeout: options.idleTimeoutMs ?? S3_IDLE_TIMEOUT_MS,
      },
    };
    if (options.credentials !== undefined) config.credentials = options.credentials;
    this.client = new S3Client(config);
  }

  async put(
    key: string,
    body: Buffer,
    meta: { contentType: string; contentEncoding: string },
  ): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.options.bucket,
        Key: key,
        Body: body,
        ContentType: meta.contentType,
        ContentEncoding: meta.contentEncoding,
      }),
    );
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let continuationToken: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.options.bucket,
          Prefix: prefix,
          ContinuationToken: continuationToken,
        }),
      );
      for (const object of page.Contents ?? []) if (object.Key !== undefined) keys.push(object.Key);
      continuationToken = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (continuationToken !== undefined);
    return keys;
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: key }));
      return object.Body === undefined
        ? Buffer.alloc(0)
        : Buffer.from(await object.Body.transformToByteArray());
    } catch (err) {
      if (err instanceof NoSuchKey) return undefined;
      throw err;
    }
  }

  close(): void {
    this.client.destroy();
  }
}

/** A local directory with the same layout as the bucket (used when no S3 endpoint is configured). */
export class FileSystemArchiveStore implements ArchiveStore {
  private readonly root: string;

  constructor(dir: string) {
    this.root = resolve(dir);
  }

  async put(key: string, body: Buffer): Promise<void> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    // Write beside, then rename: a reader never sees half an object, and a crash leaves at worst a
    // stray temporary file instead of a truncated archive under the real name.
    const temporary = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
    try {
      await writeFile(temporary, body);
      await rename(temporary, path);
    } catch (err) {
      await rm(temporary, { force: true });
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    // Like S3: every key under the prefix, at any depth.
    const slash = prefix.lastIndexOf('/');
    const folder = prefix.slice(0, slash + 1);
    const start = prefix.slice(slash + 1);
    let paths: string[];
    try {
      const dir = folder === '' ? this.root : this.pathOf(folder.slice(0, -1));
      paths = (await readdir(dir, { recursive: true, withFileTypes: true }))
        .filter((entry) => entry.isFile())
        .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split(sep).join('/'));
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
    // Temporary files of a put in progress (see put) are not objects.
    return paths.filter((p) => p.startsWith(start) && !p.endsWith('.tmp')).map((p) => `${folder}${p}`);
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.pathOf(key));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  close(): void {
    // Nothing held open.
  }

  private pathOf(key: string): string {
    const path = resolve(this.root, ...key.split('/'));
    const inside = relative(this.root, path);
    if (inside === '' || inside.startsWith(`..${sep}`) || inside === '..' || isAbsolute(inside)) {
      throw new InvalidArchiveKeyError(`archive key ${JSON.stringify(key)} points outside ${this.root}`);
    }
    return path;
  }
}

function isNotFound(err: unknown): boolean {
  // Structural: errors thrown by node:fs may come from another realm (e.g. under jest).
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === 'ENOENT';
}

/** S3 when an endpoint is configured, the directory otherwise; both lay objects out identically. */
export function createArchiveStore(options: { s3?: S3ArchiveOptions; dir: string }): ArchiveStore {
  return options.s3 !== undefined ? new S3ArchiveStore(options.s3) : new FileSystemArchiveStore(options.dir);
}
