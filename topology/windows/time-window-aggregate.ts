import type { Processor, ProcessorContext } from '../processor/processor';
import type { StreamRecord } from '../processor/record';
import type { Serde } from '../serde';
import type { WindowStore } from '../state/window-store';
import { inEmissionOrder, isTimeWindowClosed, type TimeWindows, type Window, type Windowed } from './window';
import type { WindowValue } from './window-value';

export interface TimeWindowAggregateConfig<K, V, A> {
  readonly windows: TimeWindows;
  readonly storeName: string;
  readonly initializer: () => A;
  readonly aggregator: (key: K, value: V, aggregate: A) => A;
  readonly emit: 'final' | 'updates';
  readonly keySerde: Serde<K>;
  readonly valueSerde: Serde<V>;
}

/**
 * Aggregation over tumbling or hopping windows, as Kafka Streams' KStreamWindowAggregate. A record updates every window containing it that
 * is still open; a record for which all those windows are closed is late and goes to the late
 * topic. Closed windows are emitted (in `final` mode) and evicted as stream time advances.
 */
export class TimeWindowAggregateProcessor<K, V, A> implements Processor<K, V, Windowed<K>, A> {
  private context!: ProcessorContext<Windowed<K>, A>;
  private store!: WindowStore<K, WindowValue<A>>;

  constructor(private readonly config: TimeWindowAggregateConfig<K, V, A>) {}

  init(context: ProcessorContext<Windowed<K>, A>): void {
    this.context = context;
    this.store = context.windowStore(this.config.storeName);
    // Interval 1 ms: runs whenever stream time advances.
    context.schedule(1, 'stream-time', (streamTime) => this.closeWindows(streamTime));
  }

  process(record: StreamRecord<K, V>): void {
    const { windows, initializer, aggregator } = this.config;
    const streamTime = this.context.streamTime();
    let lateFor: Window | undefined;
    let accepted = false;
    for (const window of windows.windowsFor(record.timestamp)) {
      if (isTimeWindowClosed(window, windows.graceMs, streamTime)) {
        lateFor = window;
        continue;
      }
      accepted = true;
      const previous = this.store.get(record.key, window);
      const value: WindowValue<A> = {
        aggregate: aggregator(record.key, record.value, previous ? previous.aggregate : initializer()),
        timestamp: Math.max(previous?.timestamp ?? record.timestamp, record.timestamp),
      };
      this.store.put(record.key, window, value);
      if (this.config.emit === 'updates') this.forward(record.key, window, value);
    }
    if (!accepted && lateFor) {
      this.context.reportLate({
        record,
        key: this.config.keySerde.serialize(record.key),
        value: this.config.valueSerde.serialize(record.value),
        windowEnd: lateFor.end,
      });
    }
  }

  /** Closed windows: emitted (final) in end, key order, as Kafka Streams' final results, and evicted. */
  private closeWindows(streamTime: number): void {
    const closed = this.store.endingAtOrBefore(streamTime - this.config.windows.graceMs);
    if (this.config.emit === 'final') {
      for (const entry of inEmissionOrder(closed, this.config.keySerde)) {
        this.forward(entry.key, entry.window, entry.value);
      }
    }
    for (const entry of closed) this.store.delete(entry.key, entry.window);
  }

  private forward(key: K, window: Window, value: WindowValue<A>): void {
    this.context.forward({
      key: { key, window },
      value: value.aggregate,
      timestamp: value.timestamp,
      headers: {},
      ...this.context.position(),
    });
  }
}
