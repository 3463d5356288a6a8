import { InvalidSourceRangeError, type SourceRange } from '../source-range';
import {
  InvalidArchiveTimeError,
  archiveKey,
  archiveKeyPrefix,
  continuationKey,
  DEFAULT_ARCHIVE_FORMAT,
  hivePartition,
  lastOffsetOf,
  type ArchiveFormat,
} from './layout';

const source: SourceRange = { topic: 'otel-logs', partition: 3, firstOffset: '100', lastOffset: '199' };

describe('archive layout', () => {
  it('lays partitions out like the awss3 exporter, in UTC, zero-padded', () => {
    expect(hivePartition(Date.UTC(2026, 0, 5, 7, 9, 59, 999))).toBe(
      'year=2026/month=01/day=05/hour=07/minute=09',
    );
  });

  it('names an object as the awss3 exporter does: prefix, minute folder, signal, then the source range', () => {
    const timeMs = Date.UTC(2026, 10, 22, 23, 59);
    const key = (format: ArchiveFormat) =>
      archiveKey({ prefix: 'stacklens/', signal: 'traces', source, timeMs, format });
    const folder = 'stacklens/year=2026/month=11/day=22/hour=23/minute=59';
    expect(key(DEFAULT_ARCHIVE_FORMAT)).toBe(`${folder}/traces_otel-logs-3-100-199.json.gz`);
    expect(key({ marshaler: 'otlp_proto', compression: 'gzip' })).toBe(
      `${folder}/traces_otel-logs-3-100-199.binpb.gz`,
    );
    expect(key({ marshaler: 'otlp_proto', compression: 'none' })).toBe(
      `${folder}/traces_otel-logs-3-100-199.binpb`,
    );
    expect(key({ marshaler: 'otlp_json', compression: 'none' })).toBe(
      `${folder}/traces_otel-logs-3-100-199.json`,
    );
  });

  it('gives the same range and time the same key, and different ranges different keys', () => {
    const at = Date.UTC(2026, 10, 22, 8, 0);
    const key = (s: SourceRange) =>
      archiveKey({ prefix: '', signal: 'logs', source: s, timeMs: at, format: DEFAULT_ARCHIVE_FORMAT });
    expect(key(source)).toBe(key({ ...source }));
    expect(key({ ...source, lastOffset: '200' })).not.toBe(key(source));
    expect(key({ ...source, partition: 4 })).not.toBe(key(source));
  });

  it.each([
    ['a topic with a slash', { ...source, topic: '../etc' }],
    ['the topic ..', { ...source, topic: '..' }],
    ['a negative partition', { ...source, partition: -1 }],
    ['a non-numeric offset', { ...source, firstOffset: '1e3' }],
    ['a range that ends before it starts', { ...source, firstOffset: '200', lastOffset: '199' }],
  ])('rejects %s', (_what, bad) => {
    expect(() =>
      archiveKey({ prefix: '', signal: 'logs', source: bad, timeMs: 0, format: DEFAULT_ARCHIVE_FORMAT }),
    ).toThrow(InvalidSourceRangeError);
  });

  it('compares offsets as integers, not strings', () => {
    expect(() =>
      archiveKey({
        prefix: '',
        signal: 'logs',
        source: { ...source, firstOffset: '9', lastOffset: '10' },
        timeMs: 0,
        format: DEFAULT_ARCHIVE_FORMAT,
      }),
    ).not.toThrow();
  });

  it('rejects a time that is not a number of milliseconds', () => {
    expect(() => hivePartition(Number.NaN)).toThrow(InvalidArchiveTimeError);
    expect(() => hivePartition(8.64e15 + 1)).toThrow(InvalidArchiveTimeError);
  });

  it('gives the key prefix of any object starting at an offset, and reads the last offset back', () => {
    const at = Date.UTC(2026, 10, 22, 8, 0);
    const key = archiveKey({
      prefix: 'p/',
      signal: 'logs',
      source,
      timeMs: at,
      format: DEFAULT_ARCHIVE_FORMAT,
    });
    const keyPrefix = archiveKeyPrefix({
      prefix: 'p/',
      signal: 'logs',
      topic: 'otel-logs',
      partition: 3,
      firstOffset: '100',
      timeMs: at,
    });
    expect(keyPrefix).toBe('p/year=2026/month=11/day=22/hour=08/minute=00/logs_otel-logs-3-100-');
    expect(key.startsWith(keyPrefix)).toBe(true);
    expect(lastOffsetOf(key, keyPrefix)).toBe('199');
    // Written with the other marshaler or compression, the range is archived all the same.
    expect(lastOffsetOf(`${keyPrefix}199.binpb`, keyPrefix)).toBe('199');
    expect(lastOffsetOf(`${keyPrefix}199.json`, keyPrefix)).toBe('199');
  });

  it('does not take an object of another topic or range for one starting at the offset', () => {
    const keyPrefix = 'x/logs_otel-logs-1-5-';
    // topic otel-logs-1, partition 5, offsets 7..9 shares the prefix
    expect(lastOffsetOf('x/logs_otel-logs-1-5-7-9.json.gz', keyPrefix)).toBeUndefined();
    expect(lastOffsetOf('x/logs_otel-logs-1-50-60.json.gz', 'x/logs_otel-logs-1-5-')).toBeUndefined();
    expect(lastOffsetOf('x/logs_otel-logs-1-5-9.json.gz.tmp', keyPrefix)).toBeUndefined();
    expect(lastOffsetOf('x/logs_otel-logs-1-5-9.json.gz', keyPrefix)).toBe('9');
  });

  it('keeps continuation markers outside the archive prefix and its time folders', () => {
    expect(
      continuationKey({ prefix: 'p/', signal: 'traces', topic: 'otel-traces', partition: 2, offset: '42' }),
    ).toBe('_stacklens/continuations/p/traces/otel-traces-2-42.json');
    expect(() =>
      continuationKey({ prefix: '', signal: 'logs', topic: '../x', partition: 0, offset: '1' }),
    ).toThrow(InvalidSourceRangeError);
  });
});
