import type { Processor, ProcessorContext } from '../processor/processor';
import type { StreamRecord } from '../processor/record';
import type { Serde } from '../serde';
import type { WindowStore } from '../state/window-store';
import type { JoinWindows } from './join-windows';

/** A record of either side of a join, tagged with its side on the way into the join processor. */
export interface JoinInput {
  readonly side: 'left' | 'right';
  readonly value: unknown;
}

export interface StreamStreamJoinConfig<K, VL, VR, VO> {
  readonly windows: JoinWindows;
  readonly leftStore: string;
  readonly rightStore: string;
  readonly joiner: (left: VL, right: VR, key: K) => VO;
  readonly keySerde: Serde<K>;
  readonly leftSerde: Serde<VL>;
  readonly rightSerde: Serde<VR>;
}

/**
 * Windowed inner join of two co-partitioned keyed streams. Each side's records are buffered in a
 * window store keyed by (key, timestamp); a record joins every buffered record of the other side
 * with the same key within the time difference, and the result carries the larger timestamp.
 * Buffered records are evicted once no on-time record can join them any more.
 */
export class StreamStreamJoinProcessor<K, VL, VR, VO> implements Processor<K, JoinInput, K, VO> {
  private context!: ProcessorContext<K, VO>;
  private left!: WindowStore<K, unknown[]>;
  private right!: WindowStore<K, unknown[]>;

  constructor(private readonly config: StreamStreamJoinConfig<K, VL, VR, VO>) {}

  init(context: ProcessorContext<K, VO>): void {
    this.context = context;
    this.left = context.windowStore(this.config.leftStore);
    this.right = context.windowStore(this.config.rightStore);
    context.schedule(1, 'stream-time', (streamTime) => this.evict(streamTime));
  }

  process(record: StreamRecord<K, JoinInput>): void {
    const { timeDifferenceMs, graceMs } = this.config.windows;
    const { side, value } = record.value;
    const ts = record.timestamp;
    if (ts + timeDifferenceMs + graceMs < this.context.streamTime()) {
      const serde = side === 'left' ? this.config.leftSerde : this.config.rightSerde;
      this.context.reportLate({
        record: { ...record, value },
        key: this.config.keySerde.serialize(record.key),
        value: (serde as Serde<unknown>).serialize(value),
        windowEnd: ts + timeDifferenceMs,
      });
      return;
    }
    const [own, other] = side === 'left' ? [this.left, this.right] : [this.right, this.left];
    const matches = other
      .fetch(record.key)
      .filter((entry) => Math.abs(entry.window.start - ts) <= timeDifferenceMs)
      .sort((a, b) => a.window.start - b.window.start);
    for (const match of matches) {
      for (const otherValue of match.value) {
        const joined =
          side === 'left'
            ? this.config.joiner(value as VL, otherValue as VR, record.key)
            : this.config.joiner(otherValue as VL, value as VR, record.key);
        this.context.forward({ ...record, value: joined, timestamp: Math.max(ts, match.window.start) });
      }
    }
    const window = { start: ts, end: ts };
    own.put(record.key, window, [...(own.get(record.key, window) ?? []), value]);
  }

  /** A buffered record at t can still meet an on-time record only while t >= streamTime - 2*diff - grace. */
  private evict(streamTime: number): void {
    const { timeDifferenceMs, graceMs } = this.config.windows;
    const bound = streamTime - 2 * timeDifferenceMs - graceMs - 1;
    for (const store of [this.left, this.right]) {
      for (const entry of store.endingAtOrBefore(bound)) store.delete(entry.key, entry.window);
    }
  }
}
