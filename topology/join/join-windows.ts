import { assertDuration } from '../windows/window';

/**
 * Two records join when their timestamps differ by at most `timeDifferenceMs`. A record is late
 * when timestamp + timeDifference + grace < stream time: no record it could still join is on time.
 */
export interface JoinWindows {
  readonly timeDifferenceMs: number;
  readonly graceMs: number;
}

export function joinWindows(options: { timeDifferenceMs: number; graceMs: number }): JoinWindows {
  assertDuration('timeDifferenceMs', options.timeDifferenceMs, { positive: false });
  assertDuration('graceMs', options.graceMs, { positive: false });
  return { timeDifferenceMs: options.timeDifferenceMs, graceMs: options.graceMs };
}
