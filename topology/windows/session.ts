import { assertDuration, type SessionWindows, type Window } from './window';

/**
 * Session windows: a key's records less than or exactly `inactivityGapMs` apart belong to one
 * session; a record bridging two sessions merges them.
 */
export function sessionWindows(options: { inactivityGapMs: number; graceMs: number }): SessionWindows {
  assertDuration('inactivityGapMs', options.inactivityGapMs, { positive: true });
  assertDuration('graceMs', options.graceMs, { positive: false });
  return { kind: 'session', inactivityGapMs: options.inactivityGapMs, graceMs: options.graceMs };
}

/** Whether a record at `timestamp` falls in or within the gap of `session`, and so extends it. */
export function sessionAccepts(session: Window, timestamp: number, inactivityGapMs: number): boolean {
  return timestamp >= session.start - inactivityGapMs && timestamp <= session.end + inactivityGapMs;
}

/** The session covering all of `sessions` and `timestamp`. */
export function mergedSession(sessions: readonly Window[], timestamp: number): Window {
  let start = timestamp;
  let end = timestamp;
  for (const s of sessions) {
    start = Math.min(start, s.start);
    end = Math.max(end, s.end);
  }
  return { start, end };
}
