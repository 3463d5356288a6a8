import { BadParameterError } from '../errors';

/**
 * Time parameters. The API accepts RFC 3339 timestamps (nanosecond fractions kept) and unix epochs in
 * seconds, milliseconds, microseconds or nanoseconds (told apart by magnitude, as users paste any of them).
 * Everything becomes epoch nanoseconds as a bigint, bound to ClickHouse as Int64.
 */

const RFC3339 = /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;
const EPOCH = /^\d{1,19}(?:\.\d{1,9})?$/;

/** Returns epoch ns, or undefined when `text` is neither RFC 3339 nor an epoch. */
export function parseTimeToNanos(text: string): bigint | undefined {
  const value = text.trim();
  const rfc = RFC3339.exec(value);
  if (rfc) {
    const [, date, time, fraction = '', zone = 'Z'] = rfc;
    const millis = Date.parse(`${date}T${time}${zone.toUpperCase()}`);
    if (Number.isNaN(millis)) return undefined;
    return BigInt(millis) * 1_000_000n + BigInt(fraction.padEnd(9, '0'));
  }
  if (!EPOCH.test(value)) return undefined;
  const [whole = '0', fraction = ''] = value.split('.');
  const n = BigInt(whole);
  if (n < 100_000_000_000n) return n * 1_000_000_000n + BigInt(fraction.padEnd(9, '0')); // seconds
  if (fraction !== '') return undefined; // fractions only make sense on seconds
  if (n < 100_000_000_000_000n) return n * 1_000_000n; // milliseconds
  if (n < 100_000_000_000_000_000n) return n * 1_000n; // microseconds
  return n <= 9_223_372_036_854_775_807n ? n : undefined; // nanoseconds (Int64)
}

const DURATION = /^(\d{1,9})(s|m|h|d)$/;
const UNIT_SECONDS = { s: 1, m: 60, h: 3_600, d: 86_400 } as const;

/** Parses a window such as `30s`, `15m`, `1h`, `7d` to seconds; undefined when malformed. */
export function parseDurationSeconds(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * UNIT_SECONDS[m[2] as keyof typeof UNIT_SECONDS];
}

/** Epoch ns (decimal string) → RFC 3339 with nanoseconds, e.g. 2025-01-15T10:31:00.123456789Z. */
export function nanosToIso(nanos: string): string {
  const n = BigInt(nanos);
  const millis = n / 1_000_000n;
  const base = new Date(Number(millis)).toISOString().slice(0, 19);
  const fraction = (n % 1_000_000_000n).toString().padStart(9, '0');
  return `${base}.${fraction}Z`;
}

const NANOS_PER_HOUR = 3_600n * 1_000_000_000n;

/** Bounds on the time range of an API query. */
export interface RangeLimits {
  /** Range queried when the request gives none (capped at `maxHours`). */
  defaultHours: number;
  /** Widest range a request may ask for (API_MAX_QUERY_RANGE_HOURS). */
  maxHours: number;
}

export interface TimeRange {
  startNanos: bigint;
  endNanos: bigint;
}

/**
 * The range a query reads: `end` defaults to now and `start` to `end` minus the default range, so no
 * request scans the whole table by leaving the range out; a wider range than `maxHours` is a 400
 * naming `parameter` (the one that set the start) and the limit.
 */
export function boundedRange(
  given: { start?: bigint; end?: bigint },
  limits: RangeLimits,
  nowNanos: bigint,
  parameter = 'start_time',
): TimeRange {
  const endNanos = given.end ?? nowNanos;
  const defaultNanos = BigInt(Math.min(limits.defaultHours, limits.maxHours)) * NANOS_PER_HOUR;
  const startNanos = given.start ?? endNanos - defaultNanos;
  const maxNanos = BigInt(limits.maxHours) * NANOS_PER_HOUR;
  if (endNanos - startNanos > maxNanos) {
    const hours = (endNanos - startNanos + NANOS_PER_HOUR - 1n) / NANOS_PER_HOUR;
    throw new BadParameterError(
      parameter,
      `the range spans ${hours} h, more than API_MAX_QUERY_RANGE_HOURS (${limits.maxHours} h); ` +
        'give a later start_time or an earlier end_time',
    );
  }
  return { startNanos, endNanos };
}

/** Now as epoch ns. */
export function nowNanos(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}
