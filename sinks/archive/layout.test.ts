import { InvalidSourceRangeError, type SourceRange } from '../source-range';
import {
  InvalidArchiveTimeError,
  archiveKey,
  archiveKeyPrefix,
  continuationKey,
  hivePartition,
  lastOffsetOf,
} from './layout';

const source: SourceRange = { topic: 'otel-logs', partition: 3, firstOffset: '100', lastOffset: '199' };

describe('archive layout', () => {
  it('lays partitions out like the awss3 exporter, in UTC, zero-padded', () => {
    expect(hivePartition(Date.UTC(2026, 0, 5, 7, 9, 59, 999))).toBe(
      'year=2026/month=01/day=05/hour=07/minute=09',
    );
  });

  it('names an object after its prefix, signal, minute and source range', () => {
    expect(
      archiveKey({ prefix: 'stacklens/', signal: 'traces', source, timeMs: Date.UTC(2026, 10, 22, 23, 59) }),
    ).toBe('stacklens/traces/year=2026/month=11/day=22/hour=23/minute=59/otel-logs-3-100-199.json.gz');
  });

  it('gives the same range and time the same key, and different ranges different keys', () => {
    const at = Date.UTC(2026, 10, 22, 8, 0);
    const key = (s: SourceRange) => archiveKey({ prefix: '', signal: 'logs', source: s, timeMs: at });
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
    expect(() => archiveKey({ prefix: '', signal: 'logs', source: bad, timeMs: 0 })).toThrow(
      InvalidSourceRangeError,
    );
  });

  it('compares offsets as integers, not strings', () => {
    expect(() =>
      archiveKey({
        prefix: '',
        signal: 'logs',
        source: { ...source, firstOffset: '9', lastOffset: '10' },
        timeMs: 0,
      }),
    ).not.toThrow();
  });

  it('rejects a time that is not a number of milliseconds', () => {
    expect(() => hivePartition(Number.NaN)).toThrow(InvalidArchiveTimeError);
    expect(() => hivePartition(8.64e15 + 1)).toThrow(InvalidArchiveTimeError);
  });

  it('gives the key prefix of any object starting at an offset, and reads the last offset back', () => {
    const at = Date.UTC(2026, 10, 22, 8, 0);
    const key = archiveKey({ prefix: 'p/', signal: 'logs', source, timeMs: at });
    const keyPrefix = archiveKeyPrefix({
      prefix: 'p/',
      signal: 'logs',
      topic: 'otel-logs',
      partition: 3,
      firstOffset: '100',
      timeMs: at,
    });
    expect(keyPrefix).toBe('p/logs/year=2026/month=11/day=22/hour=08/minute=00/otel-logs-3-100-');
    expect(key.startsWith(keyPrefix)).toBe(true);
    expect(lastOffsetOf(key, keyPrefix)).toBe('199');
  });

  it('does not take an object of another topic or range for one starting at the offset', () => {
    const keyPrefix = 'logs/x/otel-logs-1-5-';
    // topic otel-logs-1, partition 5, offsets 7..9 shares the prefix
    expect(lastOffsetOf('logs/x/otel-logs-1-5-7-9.json.gz', keyPrefix)).toBeUndefined();
    expect(lastOffsetOf('logs/x/otel-logs-1-50-60.json.gz', 'logs/x/otel-logs-1-5-')).toBeUndefined();
    expect(lastOffsetOf('logs/x/otel-logs-1-5-9.json.gz.tmp', keyPrefix)).toBeUndefined();
    expect(lastOffsetOf('logs/x/otel-logs-1-5-9.json.gz', keyPrefix)).toBe('9');
  });

  it('keeps continuation markers outside the signal folders', () => {
    expect(
      continuationKey({ prefix: 'p/', signal: 'traces', topic: 'otel-traces', partition: 2, offset: '42' }),
    ).toBe('p/_stacklens/continuations/traces/otel-traces-2-42.json');
    expect(() =>
      continuationKey({ prefix: '', signal: 'logs', topic: '../x', partition: 0, offset: '1' }),
    ).toThrow(InvalidSourceRangeError);
  });
});
