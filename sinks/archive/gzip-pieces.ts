import { constants, crc32, deflateRawSync } from 'node:zlib';

/**
 * A piece of a gzip file compressed on its own: raw deflate blocks ending on a byte boundary (a sync
 * flush, without the final block), with the CRC-32 and length of its text. Pieces compressed apart
 * concatenate into one valid deflate stream (no back-reference crosses a piece), so a file can be
 * compressed piece by piece as its text arrives and joined later without compressing anything again,
 * as pigz does in parallel. The result is ONE gzip member: some readers (browsers, Rust's GzDecoder,
 * curl --compressed) stop after the first member of a multi-member file.
 */
export interface GzipPiece {
  readonly deflated: Buffer;
  /** CRC-32 of the piece's text. */
  readonly crc: number;
  /** Bytes of the piece's text. */
  readonly size: number;
}

export function gzipPiece(text: string | Uint8Array): GzipPiece {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  return {
    deflated: deflateRawSync(bytes, { finishFlush: constants.Z_SYNC_FLUSH }),
    crc: crc32(bytes),
    size: bytes.length,
  };
}

/** The gzip file (RFC 1952) of the pieces' texts concatenated in order. */
export function joinGzipPieces(pieces: readonly GzipPiece[]): Buffer {
  let crc = 0;
  let size = 0;
  for (const piece of pieces) {
    crc = crc32Combine(crc, piece.crc, piece.size);
    size += piece.size;
  }
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc, 0);
  trailer.writeUInt32LE(size % 2 ** 32, 4); // ISIZE: the length modulo 2^32
  return Buffer.concat([GZIP_HEADER, ...pieces.map((p) => p.deflated), FINAL_BLOCK, trailer]);
}

/** Deflate, no flags, no time, no extra flags, OS unknown. */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
/** An empty final block: what ends the stream after the pieces' blocks. */
const FINAL_BLOCK = deflateRawSync(Buffer.alloc(0));

/**
 * CRC-32 of A then B from the CRCs of A and B and B's length: zlib's crc32_combine (multiplying by
 * x^(8·len2) modulo the CRC polynomial, in reflected bit order), which Node's zlib does not expose.
 */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  return (multiplyModP(xPower2nModP(lengthB, 3), crcA) ^ crcB) >>> 0;
}

const POLYNOMIAL = 0xedb88320;

/** a·b modulo the polynomial; bit 31 is x^0. */
function multiplyModP(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  let bb = b;
  for (;;) {
    if ((a & m) !== 0) {
      p ^= bb;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    bb = (bb & 1) !== 0 ? (bb >>> 1) ^ POLYNOMIAL : bb >>> 1;
  }
  return p >>> 0;
}

/** X_2N[k] = x^(2^k) modulo the polynomial. */
const X_2N: number[] = [0x40000000];
for (let k = 1; k < 32; k++) X_2N.push(multiplyModP(X_2N[k - 1]!, X_2N[k - 1]!));

/** x^(n·2^k) modulo the polynomial. */
function xPower2nModP(n: number, k: number): number {
  let p = 0x80000000;
  let rest = n;
  for (let i = k; rest > 0; i++) {
    if (rest % 2 === 1) p = multiplyModP(X_2N[i % 32]!, p);
    rest = Math.floor(rest / 2);
  }
  return p;
}
