import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import type { StoreContext } from './store';

/** LMDB's largest key (lmdb-js builds it with 1978 bytes). */
export const LMDB_MAX_KEY_BYTES = 1_978;
/** Accounted per cached entry on top of its serialized value: map slot, key, object headers. */
export const CACHE_ENTRY_OVERHEAD_BYTES = 200;
/** Restored records written per LMDB transaction when the restorer does not say sooner. */
export const RESTORE_BATCH = 10_000;
const OFFSET_KEY = 'changelog-offset';

export type PersistentStoreContext = StoreContext & { persistence: NonNullable<StoreContext['persistence']> };

/** A store built on disk when the runtime has a state directory (StoreContext.persistence), in memory otherwise. */
export function inMemoryOrOnDisk<S>(
  context: StoreContext,
  inMemory: () => S,
  onDisk: (context: PersistentStoreContext) => S,
): S {
  const { persistence } = context;
  return persistence === undefined ? inMemory() : onDisk({ ...context, persistence });
}

/** `<stateDir>/<application>/<instance>/<task>/<store>`: one LMDB environment per store and task. */
export function storeDirectory(context: PersistentStoreContext, storeName: string): string {
  const { stateDir, instanceId } = context.persistence;
  return join(stateDir, safe(context.applicationId), safe(instanceId), context.taskId, safe(storeName));
}

/** The directory of an instance's tasks: `<stateDir>/<application>/<instance>`. */
export function instanceDirectory(stateDir: string, applicationId: string, instanceId: string): string {
  return join(stateDir, safe(applicationId), safe(instanceId));
}

/**
 * A store's LMDB environment: binary databases by name, and the changelog offset its content
 * reaches, kept in the root database so that one transaction writes data and offset together.
 */
export class LmdbEnvironment<Name extends string> {
  readonly root: RootDatabase<Buffer, string>;
  readonly dbs: Record<Name, Database<Buffer, Buffer>>;
  private closed = false;

  constructor(dir: string, names: readonly Name[]) {
    mkdirSync(dir, { recursive: true });
    // Synchronous commits (one fsync per commit) keep the offset and the data together on disk even
    // across a machine crash; values are the serde's bytes, uncompressed and uncached by lmdb-js
    // (the stores cache deserialized values themselves).
    this.root = open<Buffer, string>({
      path: dir,
      maxDbs: names.length + 1,
      encoding: 'binary',
      cache: false,
      compression: false,
    });
    const dbs = {} as Record<Name, Database<Buffer, Buffer>>;
    for (const name of names) {
      dbs[name] = this.root.openDB<Buffer, Buffer>(name, {
        keyEncoding: 'binary',
        encoding: 'binary',
        cache: false,
      });
    }
    this.dbs = dbs;
  }

  /** Changelog offset the content reaches (0: nothing restored or committed yet). */
  offset(): bigint {
    const stored = this.root.getBinary(OFFSET_KEY);
    return stored === undefined ? 0n : stored.readBigInt64BE(0);
  }

  /**
   * Restored changelog records, in one synchronous transaction with the offset they reach
   * (undefined: a batch in the middle of a fetch, the offset follows with the last one).
   */
  writeRestored(write: () => void, nextOffset: bigint | undefined): void {
    this.root.transactionSync(() => {
      write();
      if (nextOffset !== undefined) this.root.putSync(OFFSET_KEY, encodeOffset(nextOffset));
    });
  }

  /**
   * Committed changes, with the changelog offset they reach (undefined: the commit produced nothing
   * to the changelog, the offset stays), in one asynchronous transaction: `write` runs when it
   * starts, its fsync off the main thread. Nothing is written once the store was closed meanwhile
   * (a rebalance or a failed commit while the write waited): its changes are forgotten.
   */
  async writeCommitted(write: () => void, changelogEnd: bigint | undefined): Promise<void> {
    await this.root.transaction(() => {
      if (this.closed) return;
      write();
      if (changelogEnd !== undefined) void this.root.put(OFFSET_KEY, encodeOffset(changelogEnd));
    });
  }

  /** Empties every database and forgets the offset, in one transaction. */
  wipe(): void {
    this.root.transactionSync(() => {
      for (const db of Object.values<Database<Buffer, Buffer>>(this.dbs)) db.clearSync();
      this.root.removeSync(OFFSET_KEY);
    });
  }

  entryCount(name: Name): number {
    return (this.dbs[name].getStats() as { entryCount: number }).entryCount;
  }

  close(): void {
    this.closed = true;
    void this.root.close();
  }
}

function encodeOffset(offset: bigint): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigInt64BE(offset, 0);
  return bytes;
}

/** A name as one path segment. */
function safe(name: string): string {
  return encodeURIComponent(name).replace(/^\.+/, (dots) => '%2E'.repeat(dots.length));
}
