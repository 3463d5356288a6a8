import { assertDuration, type TimeWindows, type Window } from './window';

/**
 * Overlapping windows of `sizeMs` starting every `advanceMs`, aligned to the epoch. A timestamp
 * belongs to up to ceil(size / advance) windows. Windows never start before 0.
 */
export function hoppingWindows(options: { sizeMs: number; advanceMs: number; graceMs: number }): TimeWindows {
  assertDuration('sizeMs', options.sizeMs, { positive: true });
  assertDuration('advanceMs', options.advanceMs, { positive: true });
  assertDuration('graceMs', options.graceMs, { positive: false });
  const { sizeMs, advanceMs, graceMs } = options;
  if (advanceMs > sizeMs) throw new RangeError(`advanceMs (${advanceMs}) must not exceed sizeMs (${sizeMs})`);
  return {
    kind: 'hopping',
    sizeMs,
    advanceMs,
    graceMs,
    windowsFor(timestamp: number): Window[] {
      const lastStart = timestamp - (timestamp % advanceMs);
      const windows: Window[] = [];
      for (let start = lastStart; start > timestamp - sizeMs && start >= 0; start -= advanceMs) {
        windows.unshift({ start, end: start + sizeMs });
      }
      return windows;
    },
  };
}
