import type { ChangelogWriter } from '../state/store';

/** A changelog that keeps every record a store appends (its value serialized at once), for store tests. */
export function recordingChangelog(): ChangelogWriter & { records: [Buffer, Buffer | null][] } {
  const records: [Buffer, Buffer | null][] = [];
  return { records, append: (key, value) => void records.push([key, value === null ? null : value()]) };
}
