import { assertDuration, type TimeWindows, type Window } from './window';

/** Non-overlapping windows of `sizeMs`, aligned to the epoch: [n*size, (n+1)*size). */
export function tumblingWindows(options: { sizeMs: number; graceMs: number }): TimeWindows {
  assertDuration('sizeMs', options.sizeMs, { positive: true });
  assertDuration('graceMs', options.graceMs, { positive: false });
  const { sizeMs, graceMs } = options;
  return {
    kind: 'tumbling',
    sizeMs,
    advanceMs: sizeMs,
    graceMs,
    windowsFor(timestamp: number): Window[] {
      const start = timestamp - (timestamp % sizeMs);
      return [{ start, end: start + sizeMs }];
    },
  };
}
