import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { StackLensError } from '../../common/errors';

/** A key that would leave the archive's directory. */
export class InvalidArchiveKeyError extends StackLensError {}

/** Where archive objects go. Keys are `/`-separated relative paths (see ./layout.ts). */
export interface ArchiveStore {
  /** Writes the object, replacing any object under the same key. */
  put(key: string, body: Buffer, meta: { contentType: string; contentEncoding: string }): Promise<void>;
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
}

/** S3 or an S3-compatible server (SeaweedFS in the local stack). The bucket must exist. */
export class S3ArchiveStore implements ArchiveStore {
  private readonly client: S3Client;

  constructor(private readonly options: S3ArchiveOptions) {
    const config: S3ClientConfig = {
      endpoint: options.endpoint,
      region: options.region,
      forcePathStyle: true,
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

/** S3 when an endpoint is configured, the directory otherwise; both lay objects out identically. */
export function createArchiveStore(options: { s3?: S3ArchiveOptions; dir: string }): ArchiveStore {
  return options.s3 !== undefined ? new S3ArchiveStore(options.s3) : new FileSystemArchiveStore(options.dir);
}
