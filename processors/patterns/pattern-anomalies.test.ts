import type { Alert } from '../records';
import {
  closeBuckets,
  countLine,
  newPatternStats,
  validatePatternAnomalySettings,
  type PatternAnomalySettings,
  type PatternBucket,
} from './pattern-anomalies';

const T0 = Date.UTC(2026, 0, 15, 10, 0);
const settings: PatternAnomalySettings = { bucketMs: 60_000, alpha: 0.2, deviations: 4, warmupBuckets: 3 };
const line = (timeMs: number, i = 0) => ({ id: `r${i}`, time_ms: timeMs, trace_id: '' });

function learned(countPerBucket: number, buckets: number) {
  const stats = newPatternStats('svc', 7, 'GET <*>', line(T0), settings.bucketMs);
  const out = { buckets: [] as PatternBucket[], alerts: [] as Alert[] };
  for (let b = 0; b < buckets; b++)
    for (let i = 0; i < countPerBucket; i++) countLine(settings, stats, line(T0 + b * 60_000 + i), out);
  closeBuckets(settings, stats, T0 + buckets * 60_000, out);
  return { stats, out };
}

describe('pattern rate band', () => {
  it('learns the mean of a steady rate and stays quiet inside the band', () => {
    const { stats, out } = learned(100, 8);
    expect(stats.mean).toBeCloseTo(100);
    expect(stats.variance).toBeCloseTo(0);
    expect(out.buckets.map((b) => b.count)).toEqual(Array(8).fill(100));
    expect(out.alerts).toEqual([]);
  });

  it('reports a drop when a bucket closes under the band, with Chebyshev confidence', () => {
    const { stats, out } = learned(100, 8);
    for (let i = 0; i < 10; i++) countLine(settings, stats, line(T0 + 8 * 60_000 + i), out);
    closeBuckets(settings, stats, T0 + 9 * 60_000, out);
    expect(out.alerts).toHaveLength(1);
    // σ = max(0, √100, 1) = 10; z = 9 → 1 − 1/81
    expect(out.alerts[0]).toMatchObject({ issue_code: 'LOG_PATTERN_DROP', count: 10 });
    expect(out.alerts[0]!.confidence).toBeCloseTo(1 - 1 / 81, 3);
  });

  it('teaches a silent stretch as zeros; after a long one (bounded steps) the band is learned afresh', () => {
    const { stats, out } = learned(100, 4);
    closeBuckets(settings, stats, T0 + 6 * 60_000, out);
    expect(stats.mean).toBeCloseTo(100 * 0.8 * 0.8);
    closeBuckets(settings, stats, T0 + 1_000_000 * 60_000, out);
    expect(stats.bucketStartMs).toBe(T0 + 1_000_000 * 60_000);
    expect(stats).toMatchObject({ buckets: 0, mean: 0, variance: 0 });
  });

  it('refuses settings out of range', () => {
    expect(() => validatePatternAnomalySettings({ ...settings, alpha: 0 })).toThrow(/alpha/);
    expect(() => validatePatternAnomalySettings({ ...settings, bucketMs: 10 })).toThrow(/bucketMs/);
  });
});
