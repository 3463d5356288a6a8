/**
 * How a sink flush of one partition's offset range is cut so that a replay after a crash writes
 * every input message exactly once, even when the replayed range ends elsewhere than the original.
 *
 * The runtime flushes a sink, then commits the range's offsets. A crash in between replays the range
 * from the same first offset `a`, but its end `b'` depends on fetch sizes and can differ from the
 * original end `b`. A write named after (a, b) — an insert deduplication token, an object key — is
 * therefore only reproducible if the sink remembers `b`. Sinks keep a ledger of their writes per
 * partition (see the ClickHouse progress table and the archive's object names) and cut each flushed
 * range along the writes it already made:
 *
 * - offsets of a COMPLETE write (durably done: the insert returned, the object exists) are skipped;
 * - a PENDING write (announced, maybe done, maybe not) whose offsets the range covers completely is
 *   written again under its own name, which deduplicates (token) or overwrites identically (key);
 * - a pending write that the replay covers only in part (b' < b) cannot be redone under its name with
 *   fewer rows and also be skipped later: it is TRUNCATED — the sink records that the write now ends
 *   at b', then writes a..b' under the original name. If the original write had landed, the rows
 *   a..b' are dropped as duplicates and the rows b'+1..b will be written once more by the following
 *   flushes (duplicates, never losses: at-least-once for that one write). This only happens when a
 *   crash falls between the end of the original write and its completion record, AND the replay
 *   is shorter; the sinks log it;
 * - everything else is NEW: written under a name made of its own first and last offsets.
 *
 * Pure: offsets are bigints (Kafka offsets are 64-bit), the ledger's knowledge is passed in.
 */

/** A write a sink made (or announced) for the offsets first..last of one partition. */
export interface LedgerEntry {
  readonly first: bigint;
  readonly last: bigint;
  /** The last offset of the write's name; differs from `last` only after a truncation. */
  readonly tokenLast: bigint;
  /** The write is durable; false when it was announced and may or may not have happened. */
  readonly complete: boolean;
}

export interface OffsetRange {
  readonly first: bigint;
  readonly last: bigint;
}

export type Segment =
  /** Not written before: write under the name (first, last). */
  | { readonly kind: 'new'; readonly first: bigint; readonly last: bigint }
  /** Already durable up to `coveredTo` (≥ last): write nothing. */
  | { readonly kind: 'skip'; readonly first: bigint; readonly last: bigint; readonly coveredTo: bigint }
  /** A pending write covered in full: write first..last again under the name (first, tokenLast). */
  | { readonly kind: 'rewrite'; readonly first: bigint; readonly last: bigint; readonly tokenLast: bigint }
  /**
   * A pending write covered only up to `last` (< its end `pendingLast`): record that it ends at
   * `last`, then write first..last under the name (first, tokenLast).
   */
  | {
      readonly kind: 'truncate';
      readonly first: bigint;
      readonly last: bigint;
      readonly tokenLast: bigint;
      readonly pendingLast: bigint;
    };

/**
 * Cuts `range` into consecutive segments covering it exactly, in offset order. `known` holds the
 * ledger's writes of the same partition that may overlap the range (others are ignored); writes of
 * one partition never overlap each other.
 */
export function planReplay(range: OffsetRange, known: readonly LedgerEntry[]): Segment[] {
  const entries = [...known]
    .filter((e) => e.last >= range.first && e.first <= range.last)
    .sort((x, y) => (x.first < y.first ? -1 : x.first > y.first ? 1 : 0));
  const segments: Segment[] = [];
  let cursor = range.first;
  while (cursor <= range.last) {
    const cover = entries.find((e) => e.first <= cursor && cursor <= e.last);
    if (cover === undefined) {
      const next = entries.find((e) => e.first > cursor);
      const last = next === undefined || next.first > range.last ? range.last : next.first - 1n;
      segments.push({ kind: 'new', first: cursor, last });
      cursor = last + 1n;
      continue;
    }
    const last = cover.last < range.last ? cover.last : range.last;
    if (cover.complete) {
      segments.push({ kind: 'skip', first: cursor, last, coveredTo: cover.last });
    } else if (cursor !== cover.first) {
      // A pending write entered past its start: ranges start at committed offsets, and an offset
      // inside a write is only committed once that write is complete, so this means the ledger
      // lost a record (expired, or written by a different protocol). Its name cannot be
      // reproduced; writing the offsets anew is the at-least-once choice.
      segments.push({ kind: 'new', first: cursor, last });
    } else if (range.last >= cover.last) {
      segments.push({ kind: 'rewrite', first: cover.first, last: cover.last, tokenLast: cover.tokenLast });
    } else {
      segments.push({
        kind: 'truncate',
        first: cover.first,
        last: range.last,
        tokenLast: cover.tokenLast,
        pendingLast: cover.last,
      });
    }
    cursor = last + 1n;
  }
  return segments;
}
