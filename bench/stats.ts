/**
 * The p-th percentile (0 < p ≤ 100) of `values` by the nearest-rank method: the smallest value with at
 * least p% of the values at or below it, so it is always one of the measured values. Undefined when there
 * are no values.
 */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil((p / 100) * sorted.length) - 1];
}

/** Per second, from a count and a duration in milliseconds (0 for an empty duration). */
export function perSecond(count: number, elapsedMs: number): number {
  return elapsedMs > 0 ? (count * 1_000) / elapsedMs : 0;
}
