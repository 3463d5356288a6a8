import { crc32, gunzipSync, gzipSync } from 'node:zlib';
import { crc32Combine, gzipPiece, joinGzipPieces } from './gzip-pieces';

describe('gzip pieces', () => {
  const a = Buffer.from('resource entries '.repeat(5_000));
  const b = Buffer.from('{"name":"ü","values":[1,2,3]}'.repeat(3_000));

  it('combines CRC-32s as the CRC-32 of the concatenation (checked against zlib)', () => {
    const ab = Buffer.concat([a, b]);
    expect(crc32Combine(crc32(a), crc32(b), b.length)).toBe(crc32(ab));
    // zlib writes the same CRC in a gzip trailer.
    const gz = gzipSync(ab);
    expect(crc32Combine(crc32(a), crc32(b), b.length)).toBe(gz.readUInt32LE(gz.length - 8));
    expect(crc32Combine(0, crc32(a), a.length)).toBe(crc32(a));
    expect(crc32Combine(crc32(a), 0, 0)).toBe(crc32(a));
    for (const cut of [1, 7, 4_096, 65_537]) {
      expect(crc32Combine(crc32(ab.subarray(0, cut)), crc32(ab.subarray(cut)), ab.length - cut)).toBe(
        crc32(ab),
      );
    }
  });

  it('joins pieces compressed apart into one gzip member of their texts in order', () => {
    const file = joinGzipPieces([gzipPiece(a), gzipPiece(','), gzipPiece(b), gzipPiece('')]);
    const text = gunzipSync(file);
    expect(Buffer.compare(text, Buffer.concat([a, Buffer.from(','), b]))).toBe(0);
    // One member: the trailer at the end holds the CRC and size of the whole text.
    expect(file.readUInt32LE(file.length - 8)).toBe(crc32(text));
    expect(file.readUInt32LE(file.length - 4)).toBe(text.length);
    // Compressed about as well as gzip in one go.
    expect(file.length).toBeLessThan(gzipSync(text).length * 1.1 + 100);
  });

  it('joins no pieces into the gzip of nothing', () => {
    expect(gunzipSync(joinGzipPieces([])).length).toBe(0);
  });
});
