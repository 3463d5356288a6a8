import type { Serde } from '../serde';
import type { WindowEntry } from '../state/window-store';

/**
 * A window of event time. For time windows (tumbling, hopping) `end` is exclusive: the window holds
 * timestamps in [start, end). For session windows both ends are inclusive: start and end are the
 * timestamps of the first and last record of the session.
 */
export interface Window {
  readonly start: number;
  readonly end: number;
}

/** Key of a windowed aggregation result. */
export interface Windowed<K> {
  readonly key: K;
  readonly window: Window;
}

/** Fixed-size windows (tumbling or hopping): every timestamp maps to a known set of windows. */
export interface TimeWindows {
  readonly kind: 'tumbling' | 'hopping';
  readonly sizeMs: number;
  readonly advanceMs: number;
  readonly graceMs: number;
  /** Windows containing `timestamp`, oldest first. */
  windowsFor(timestamp: number): Window[];
}

/** Windows whose bounds come from the data: records closer than `inactivityGapMs` share a session. */
export interface SessionWindows {
  readonly kind: 'session';
  readonly inactivityGapMs: number;
  readonly graceMs: number;
}

export type WindowSpec = TimeWindows | SessionWindows;

/**
 * A time window [start, end) is closed once stream time reaches end + grace: no record it can
 * still hold (timestamp <= end - 1) is on time any more.
 */
export function isTimeWindowClosed(window: Window, graceMs: number, streamTime: number): boolean {
  return window.end + graceMs <= streamTime;
}

/**
 * Sessions ending before this time are closed (Kafka Streams' KStreamSessionWindowAggregate): a record
 * whose merged session ends before it is late, and closed sessions are final.
 */
export function sessionCloseTime(windows: SessionWindows, streamTime: number): number {
  return streamTime - windows.graceMs - windows.inactivityGapMs;
}

/**
 * Windows closing together, in the order Kafka Streams' time-ordered stores emit them: by end, then
 * start (sessions; time windows of one size that end together start together), then serialized key.
 */
export function inEmissionOrder<K, V>(
  entries: readonly WindowEntry<K, V>[],
  keySerde: Serde<K>,
): WindowEntry<K, V>[] {
  return entries
    .map((entry) => ({ entry, keyBytes: keySerde.serialize(entry.key) ?? EMPTY }))
    .sort(
      (a, b) =>
        a.entry.window.end - b.entry.window.end ||
        a.entry.window.start - b.entry.window.start ||
        Buffer.compare(a.keyBytes, b.keyBytes),
    )
    .map(({ entry }) => entry);
}

const EMPTY = Buffer.alloc(0);

export function assertDuration(name: string, value: number, { positive }: { positive: boolean }): void {
  if (!Number.isInteger(value) || value < 0 || (positive && value === 0)) {
    throw new RangeError(
      `${name} must be a ${positive ? 'positive' : 'non-negative'} integer of ms, got ${value}`,
    );
  }
}
