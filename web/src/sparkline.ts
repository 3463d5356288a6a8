/**
 * A pattern's counts per bucket as a sparkline. The API returns only buckets with lines in them, so
 * the gaps are filled with zeros, over at most `slots` buckets ending at the newest one.
 */
export function bucketSeries(
  buckets: readonly { start: string; count: number }[],
  bucketMs: number,
  slots: number,
): number[] {
  const last = buckets.at(-1);
  if (last === undefined || bucketMs <= 0) return [];
  const end = Date.parse(last.start);
  const first = Math.max(Date.parse(buckets[0]!.start), end - (slots - 1) * bucketMs);
  const series = new Array<number>(Math.floor((end - first) / bucketMs) + 1).fill(0);
  for (const b of buckets) {
    const i = Math.floor((Date.parse(b.start) - first) / bucketMs);
    if (i >= 0 && i < series.length) series[i]! += b.count;
  }
  return series;
}

/** SVG polyline points for `values` in a width × height box, the largest value at the top. */
export function sparkPoints(values: readonly number[], width: number, height: number): string {
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  return values
    .map((v, i) => `${(i * step).toFixed(1)},${(height - (v / max) * height).toFixed(1)}`)
    .join(' ');
}
