import type { Processor, ProcessorContext } from '../processor/processor';
import type { StreamRecord } from '../processor/record';
import type { Serde } from '../serde';
import type { WindowStore } from '../state/window-store';
import { mergedSession, sessionAccepts } from './session';
import { isLateForSession, type SessionWindows, type Windowed } from './window';
import type { WindowValue } from './window-value';

export interface SessionWindowAggregateConfig<K, V, A> {
  readonly windows: SessionWindows;
  readonly storeName: string;
  readonly initializer: () => A;
  readonly aggregator: (key: K, value: V, aggregate: A) => A;
  readonly merger: (key: K, left: A, right: A) => A;
  readonly keySerde: Serde<K>;
  readonly valueSerde: Serde<V>;
}

/**
 * Aggregation over session windows, final results only (as Kafka Streams' emit-on-window-close).
 * A record joins, and possibly merges, the sessions of its key within the inactivity gap. It is
 * late when the resulting session's end + grace is behind stream time. A session is emitted and
 * evicted once stream time passes end + gap + grace: from then on, every record that could extend
 * it would be late, so emitted sessions are never reopened.
 */
export class SessionWindowAggregateProcessor<K, V, A> implements Processor<K, V, Windowed<K>, A> {
  private context!: ProcessorContext<Windowed<K>, A>;
  private store!: WindowStore<K, WindowValue<A>>;

  constructor(private readonly config: SessionWindowAggregateConfig<K, V, A>) {}

  init(context: ProcessorContext<Windowed<K>, A>): void {
    this.context = context;
    this.store = context.windowStore(this.config.storeName);
    context.schedule(1, 'stream-time', (streamTime) => this.closeSessions(streamTime));
  }

  process(record: StreamRecord<K, V>): void {
    const { windows, initializer, aggregator, merger } = this.config;
    const streamTime = this.context.streamTime();
    const overlapping = this.store
      .fetch(record.key)
      .filter((entry) => sessionAccepts(entry.window, record.timestamp, windows.inactivityGapMs))
      .sort((a, b) => a.window.start - b.window.start);
    const session = mergedSession(
      overlapping.map((entry) => entry.window),
      record.timestamp,
    );
    if (isLateForSession(session, windows.graceMs, streamTime)) {
      this.context.reportLate({
        record,
        key: this.config.keySerde.serialize(record.key),
        value: this.config.valueSerde.serialize(record.value),
        windowEnd: session.end,
      });
      return;
    }
    let aggregate: A | undefined;
    let timestamp = record.timestamp;
    for (const entry of overlapping) {
      aggregate =
        aggregate === undefined
          ? entry.value.aggregate
          : merger(record.key, aggregate, entry.value.aggregate);
      timestamp = Math.max(timestamp, entry.value.timestamp);
      this.store.delete(record.key, entry.window);
    }
    this.store.put(record.key, session, {
      aggregate: aggregator(record.key, record.value, aggregate ?? initializer()),
      timestamp,
    });
  }

  private closeSessions(streamTime: number): void {
    const { inactivityGapMs, graceMs } = this.config.windows;
    // end + gap + grace < streamTime  <=>  end <= streamTime - gap - grace - 1 (integer ms).
    for (const entry of this.store.endingAtOrBefore(streamTime - inactivityGapMs - graceMs - 1)) {
      this.context.forward({
        key: { key: entry.key, window: entry.window },
        value: entry.value.aggregate,
        timestamp: entry.value.timestamp,
        headers: {},
        ...this.context.position(),
      });
      this.store.delete(entry.key, entry.window);
    }
  }
}
