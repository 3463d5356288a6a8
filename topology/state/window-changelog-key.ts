import type { Window } from '../windows/window';

const WINDOW_HEADER_BYTES = 16;

/**
 * A window store's changelog key: 8-byte start, 8-byte end (big-endian), then the serialized key
 * (absent for the null key). Shared by the in-memory and the LMDB window store, which can
 * therefore restore each other's changelog.
 */
export function windowChangelogKey(keyBytes: Buffer | null, window: Window): Buffer {
  const header = Buffer.alloc(WINDOW_HEADER_BYTES);
  header.writeBigInt64BE(BigInt(window.start), 0);
  header.writeBigInt64BE(BigInt(window.end), 8);
  return keyBytes === null ? header : Buffer.concat([header, keyBytes]);
}

export function parseWindowChangelogKey(key: Buffer): { keyBytes: Buffer | null; window: Window } {
  return {
    keyBytes: key.length === WINDOW_HEADER_BYTES ? null : key.subarray(WINDOW_HEADER_BYTES),
    window: { start: Number(key.readBigInt64BE(0)), end: Number(key.readBigInt64BE(8)) },
  };
}
