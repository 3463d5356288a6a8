import type { Processor, ProcessorContext } from '../processor/processor';
import type { StreamRecord } from '../processor/record';
import type { Serde } from '../serde';
import type { WindowEntry, WindowStore } from '../state/window-store';
import type { JoinWindows } from './join-windows';

/** A record of either side of a join, tagged with its side on the way into the join processor. */
export interface JoinInput {
  readonly side: JoinSide;
  readonly value: unknown;
}

export type JoinSide = 'left' | 'right';

/** inner: matches only; left: also left records that matched nothing; outer: both sides'. */
export type JoinType = 'inner' | 'left' | 'outer';

export interface StreamStreamJoinConfig<K, VL, VR, VO> {
  readonly type: JoinType;
  readonly windows: JoinWindows;
  /** Each side's records, by (key, timestamp): what the other side's records join. */
  readonly stores: Readonly<Record<JoinSide, string>>;
  /** Each side's records that matched nothing yet (left and outer joins). */
  readonly outerStores?: Readonly<Record<JoinSide, string>>;
  /** Gets null for the missing side of an unmatched record (left and outer joins). */
  readonly joiner: (left: VL | null, right: VR | null, key: K) => VO;
  readonly keySerde: Serde<K>;
}

/** Buffered values of one side at one (key, timestamp). */
type Buffered = unknown[];

interface OuterEntry<K> {
  readonly side: JoinSide;
  readonly entry: WindowEntry<K, Buffered>;
  readonly keyBytes: Buffer | null;
}

/**
 * Windowed join of two co-partitioned keyed streams, as Kafka Streams' KStreamKStreamJoin (with its
 * KStreamJoinWindow stores and the "spurious result fix" of left/outer joins, KIP-633 / KAFKA-10847):
 *
 * - A record joins every visible record of the other side with the same key whose timestamp is
 *   within timeDifference of its own, oldest first; the result carries the larger timestamp. No
 *   record is dropped as late: like Kafka Streams, a record past its window still joins what the
 *   other side's store still holds.
 * - Each side's store keeps records for timeDifference * 2 + grace (the join window size plus grace)
 *   behind the largest timestamp put into that store: older records are invisible (Kafka Streams'
 *   window store retention) and evicted.
 * - Left / outer joins: a record of an outer side that matched nothing waits in the outer store
 *   until its window closes (timestamp + timeDifference + grace < join stream time), then is
 *   forwarded with null for the other side, at its own timestamp; a match from the other side
 *   before that removes it (no spurious result). A record whose window has already ended
 *   (timestamp + timeDifference < join stream time) is forwarded unmatched at once. Closed records
 *   are emitted when a record at the join stream time arrives, in (timestamp, right before left,
 *   serialized key) order, the order of Kafka Streams' shared outer join store.
 *
 * The join stream time is the largest timestamp of either side that reached the join, and like
 * Kafka Streams' shared TimeTracker it is kept in memory: after a restart it starts again from the
 * first record.
 */
export class StreamStreamJoinProcessor<K, VL, VR, VO> implements Processor<K, JoinInput, K, VO> {
  private context!: ProcessorContext<K, VO>;
  private stores!: Record<JoinSide, WindowStore<K, Buffered>>;
  private outerStores: Record<JoinSide, WindowStore<K, Buffered>> | undefined;
  /** Largest timestamp put into each side's store; undefined until read from the store. */
  private readonly observed: Partial<Record<JoinSide, number>> = {};
  private streamTime = Number.NEGATIVE_INFINITY;
  /**
   * Lower bound of the outer store's timestamps, as Kafka Streams' TimeTracker.minTime (undefined
   * = unknown, its Long.MAX_VALUE): the outer store is only scanned once this record may be closed.
   */
  private minTime: number | undefined;

  constructor(private readonly config: StreamStreamJoinConfig<K, VL, VR, VO>) {}

  init(context: ProcessorContext<K, VO>): void {
    this.context = context;
    const { stores, outerStores } = this.config;
    this.stores = { left: context.windowStore(stores.left), right: context.windowStore(stores.right) };
    if (outerStores) {
      this.outerStores = {
        left: context.windowStore(outerStores.left),
        right: context.windowStore(outerStores.right),
      };
    }
  }

  process(record: StreamRecord<K, JoinInput>): void {
    const { side, value } = record.value;
    const other: JoinSide = side === 'left' ? 'right' : 'left';
    const ts = record.timestamp;
    const { timeDifferenceMs } = this.config.windows;
    this.streamTime = Math.max(this.streamTime, ts);
    if (ts === this.streamTime) this.emitClosedOuterRecords(record);

    const from = Math.max(0, ts - timeDifferenceMs, this.visibleFrom(other));
    const to = Math.max(0, ts + timeDifferenceMs);
    const matches = this.stores[other]
      .fetch(record.key)
      .filter((entry) => entry.window.start >= from && entry.window.start <= to)
      .sort((a, b) => a.window.start - b.window.start);
    for (const match of matches) {
      this.outerStores?.[other].delete(record.key, match.window);
      for (const otherValue of match.value) {
        this.context.forward({
          ...record,
          value: this.join(side, value, otherValue, record.key),
          timestamp: Math.max(ts, match.window.start),
        });
      }
    }
    if (matches.length === 0 && this.isOuter(side)) {
      if (!this.outerStores || to < this.streamTime) {
        this.context.forward({ ...record, value: this.join(side, value, null, record.key) });
      } else {
        this.minTime = Math.min(this.minTime ?? ts, ts);
        append(this.outerStores[side], record.key, ts, value);
      }
    }
    this.put(side, record.key, ts, value);
  }

  private join(side: JoinSide, value: unknown, otherValue: unknown, key: K): VO {
    return side === 'left'
      ? this.config.joiner(value as VL | null, otherValue as VR | null, key)
      : this.config.joiner(otherValue as VL | null, value as VR | null, key);
  }

  private isOuter(side: JoinSide): boolean {
    return this.config.type === 'outer' || (this.config.type === 'left' && side === 'left');
  }

  /** Window store retention: the join window (2 x timeDifference) plus grace. */
  private retention(): number {
    return 2 * this.config.windows.timeDifferenceMs + this.config.windows.graceMs;
  }

  /** Oldest timestamp of `side`'s store that is still visible. */
  private visibleFrom(side: JoinSide): number {
    return this.observedTime(side) - this.retention() + 1;
  }

  private observedTime(side: JoinSide): number {
    let observed = this.observed[side];
    if (observed === undefined) {
      const entries = this.stores[side].endingAtOrBefore(Number.POSITIVE_INFINITY);
      observed =
        entries.length > 0 ? (entries[entries.length - 1] as WindowEntry<K, Buffered>).window.end : -Infinity;
      this.observed[side] = observed;
    }
    return observed;
  }

  /** Buffers the record in its side's store (unless already past retention) and evicts what expired. */
  private put(side: JoinSide, key: K, ts: number, value: unknown): void {
    const observed = Math.max(this.observedTime(side), ts);
    this.observed[side] = observed;
    const store = this.stores[side];
    if (ts >= this.visibleFrom(side)) append(store, key, ts, value);
    for (const entry of store.endingAtOrBefore(this.visibleFrom(side) - 1))
      store.delete(entry.key, entry.window);
  }

  /**
   * Forwards the outer store's records whose window closed, with null for the other side, and removes
   * them; the scan stops once records of both sides are still open (Kafka Streams' loop, minTime included).
   */
  private emitClosedOuterRecords(record: StreamRecord<K, JoinInput>): void {
    const outer = this.outerStores;
    if (!outer) return;
    const { timeDifferenceMs, graceMs } = this.config.windows;
    if (this.minTime !== undefined && this.minTime + timeDifferenceMs + graceMs >= this.streamTime) return;
    this.minTime = undefined;
    const entries: OuterEntry<K>[] = (['right', 'left'] as const).flatMap((side) =>
      outer[side]
        .endingAtOrBefore(Number.POSITIVE_INFINITY)
        .map((entry) => ({ side, entry, keyBytes: this.config.keySerde.serialize(entry.key) })),
    );
    entries.sort(
      (a, b) =>
        a.entry.window.start - b.entry.window.start ||
        (a.side === b.side ? 0 : a.side === 'right' ? -1 : 1) ||
        Buffer.compare(a.keyBytes ?? EMPTY, b.keyBytes ?? EMPTY),
    );
    const open: Record<JoinSide, boolean> = { left: false, right: false };
    for (const { side, entry } of entries) {
      this.minTime = entry.window.start;
      if (open.left && open.right) break;
      if (entry.window.start + timeDifferenceMs + graceMs >= this.streamTime) {
        open[side] = true;
        continue;
      }
      for (const value of entry.value) {
        this.context.forward({
          ...record,
          key: entry.key,
          value: this.join(side, value, null, entry.key),
          timestamp: entry.window.start,
        });
      }
      outer[side].delete(entry.key, entry.window);
    }
  }
}

const EMPTY = Buffer.alloc(0);

function append<K>(store: WindowStore<K, Buffered>, key: K, ts: number, value: unknown): void {
  const window = { start: ts, end: ts };
  store.put(key, window, [...(store.get(key, window) ?? []), value]);
}
