import { boundedRange, nanosToIso, parseDurationSeconds, parseTimeToNanos } from './time';

describe('parseTimeToNanos', () => {
  it('reads RFC 3339 with nanosecond fractions and offsets', () => {
    expect(parseTimeToNanos('2025-10-15T00:00:00Z')).toBe(1_760_486_400_000_000_000n);
    expect(parseTimeToNanos('2025-10-15T00:00:00.123456789Z')).toBe(1_760_486_400_123_456_789n);
    expect(parseTimeToNanos('2025-10-15T02:00:00.5+02:00')).toBe(1_760_486_400_500_000_000n);
  });

  it('tells epoch seconds, milliseconds, microseconds and nanoseconds apart by magnitude', () => {
    expect(parseTimeToNanos('1760486400')).toBe(1_760_486_400_000_000_000n);
    expect(parseTimeToNanos('1760486400.25')).toBe(1_760_486_400_250_000_000n);
    expect(parseTimeToNanos('1760486400123')).toBe(1_760_486_400_123_000_000n);
    expect(parseTimeToNanos('1760486400123456')).toBe(1_760_486_400_123_456_000n);
    expect(parseTimeToNanos('1760486400123456789')).toBe(1_760_486_400_123_456_789n);
  });

  it('rejects anything else, including SQL', () => {
    for (const bad of [
      '',
      'yesterday',
      "1' OR '1'='1",
      '2025-10-15',
      '2025-13-45T00:00:00Z',
      '1760486400123.5',
      '99999999999999999999',
    ]) {
      expect(parseTimeToNanos(bad)).toBeUndefined();
    }
  });
});

describe('parseDurationSeconds', () => {
  it('reads s, m, h, d', () => {
    expect(parseDurationSeconds('30s')).toBe(30);
    expect(parseDurationSeconds('15m')).toBe(900);
    expect(parseDurationSeconds('1h')).toBe(3_600);
    expect(parseDurationSeconds('7d')).toBe(604_800);
    expect(parseDurationSeconds('1w')).toBeUndefined();
  });
});

describe('nanosToIso', () => {
  it('keeps nanoseconds', () => {
    expect(nanosToIso('1760486400123456789')).toBe('2025-10-15T00:00:00.123456789Z');
  });
});

describe('boundedRange', () => {
  const HOUR = 3_600_000_000_000n;
  const now = 1_000_000n * HOUR;
  const limits = { defaultHours: 24, maxHours: 48 };

  it('defaults to the last defaultHours before end, and end to now', () => {
    expect(boundedRange({}, limits, now)).toEqual({ startNanos: now - 24n * HOUR, endNanos: now });
    expect(boundedRange({ end: now - HOUR }, limits, now)).toEqual({
      startNanos: now - 25n * HOUR,
      endNanos: now - HOUR,
    });
    expect(boundedRange({ start: now - 48n * HOUR }, limits, now)).toEqual({
      startNanos: now - 48n * HOUR,
      endNanos: now,
    });
    expect(boundedRange({}, { defaultHours: 24, maxHours: 6 }, now).startNanos).toBe(now - 6n * HOUR);
  });

  it('answers 400 naming the parameter and API_MAX_QUERY_RANGE_HOURS for a wider range', () => {
    expect(() => boundedRange({ start: 0n }, limits, now)).toThrow(
      /^start_time: the range spans 1000000 h, more than API_MAX_QUERY_RANGE_HOURS \(48 h\)/,
    );
    expect(() => boundedRange({ start: now - 49n * HOUR, end: now }, limits, now, 'window')).toThrow(
      expect.objectContaining({ status: 400, parameter: 'window' }) as Error,
    );
  });
});
