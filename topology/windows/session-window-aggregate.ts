import type { Processor, ProcessorContext } from '../processor/processor';
import type { StreamRecord } from '../processor/record';
import type { Serde } from '../serde';
import type { WindowStore } from '../state/window-store';
import { mergedSession, sessionAccepts } from './session';
import { inEmissionOrder, sessionCloseTime, type SessionWindows, type Windowed } from './window';
import type { WindowValue } from './window-value';

export interface SessionWindowAggregateConfig<K, V, A> {
  readonly windows: SessionWindows;
  readonly storeName: string;
  readonly initializer: () => A;
  readonly aggregator: (key: K, value: V, aggregate: A) => A;
  readonly merger: (key: K, left: A, right: A) => A;
  readonly emit: 'final' | 'updates';
  readonly keySerde: Serde<K>;
  readonly valueSerde: Serde<V>;
}

/**
 * Aggregation over session windows, as Kafka Streams' KStreamSessionWindowAggregate. A record finds
 * the sessions of its key that end at most one gap before it and start at most one gap after it, and
 * merges them (the merger folds their aggregates into the initializer's, earliest session first,
 * then the aggregator adds the record). It is late when the merged session ends before the close
 * time, stream time - grace - gap: the inactivity gap counts too, since a session cannot be complete
 * before a gap has passed without records. `updates` forwards a tombstone (null) for each session a
 * record merged away, then the new session; `final` forwards each session once, when it ends before
 * the close time (as `emitStrategy(EmitStrategy.onWindowClose())`), and then evicts it: no on-time
 * record can reach it any more. Outputs carry the session's end as timestamp.
 */
export class SessionWindowAggregateProcessor<K, V, A> implements Processor<K, V, Windowed<K>, A | null> {
  private context!: ProcessorContext<Windowed<K>, A | null>;
  private store!: WindowStore<K, WindowValue<A>>;
  /** Largest session end put into the store so far (undefined: not read from the store yet). */
  private observedEnd: number | undefined;

  constructor(private readonly config: SessionWindowAggregateConfig<K, V, A>) {}

  init(context: ProcessorContext<Windowed<K>, A | null>): void {
    this.context = context;
    this.store = context.windowStore(this.config.storeName);
    context.schedule(1, 'stream-time', (streamTime) => this.closeSessions(streamTime));
  }

  process(record: StreamRecord<K, V>): void {
    const { windows, initializer, aggregator, merger } = this.config;
    const closeTime = sessionCloseTime(windows, this.context.streamTime());
    const visibleFrom = this.observed() - windows.inactivityGapMs - windows.graceMs + 1;
    const found = this.store
      .fetch(record.key)
      .filter(
        (entry) =>
          entry.window.end >= visibleFrom &&
          sessionAccepts(entry.window, record.timestamp, windows.inactivityGapMs),
      )
      .sort((a, b) => a.window.end - b.window.end || a.window.start - b.window.start);
    const session = mergedSession(
      found.map((entry) => entry.window),
      record.timestamp,
    );
    if (session.end < closeTime) {
      this.context.reportLate({
        record,
        key: this.config.keySerde.serialize(record.key),
        value: this.config.valueSerde.serialize(record.value),
        windowEnd: session.end,
      });
      return;
    }
    let aggregate = initializer();
    for (const entry of found) aggregate = merger(record.key, aggregate, entry.value.aggregate);
    if (session.start !== record.timestamp || session.end !== record.timestamp) {
      for (const entry of found) {
        this.store.delete(record.key, entry.window);
        if (this.config.emit === 'updates') this.forward(record.key, entry.window, null);
      }
    }
    aggregate = aggregator(record.key, record.value, aggregate);
    this.store.put(record.key, session, { aggregate, timestamp: session.end });
    this.observedEnd = Math.max(this.observed(), session.end);
    if (this.config.emit === 'updates') this.forward(record.key, session, aggregate);
  }

  /**
   * The session store's retention (gap + grace) behind the largest session end it was given: older
   * sessions are no longer found by a record, as in Kafka Streams' session stores. The largest end is
   * never evicted, so after a restart it is read back from the store.
   */
  private observed(): number {
    if (this.observedEnd === undefined) {
      const all = this.store.endingAtOrBefore(Number.POSITIVE_INFINITY);
      this.observedEnd = all.length > 0 ? all[all.length - 1]!.window.end : Number.NEGATIVE_INFINITY;
    }
    return this.observedEnd;
  }

  /** Sessions ending before the close time: emitted (final) in end, start, key order, and evicted. */
  private closeSessions(streamTime: number): void {
    const closeTime = sessionCloseTime(this.config.windows, streamTime);
    const closed = this.store.endingAtOrBefore(closeTime - 1);
    if (this.config.emit === 'final') {
      for (const entry of inEmissionOrder(closed, this.config.keySerde)) {
        this.forward(entry.key, entry.window, entry.value.aggregate);
      }
    }
    for (const entry of closed) this.store.delete(entry.key, entry.window);
  }

  private forward(key: K, window: Windowed<K>['window'], value: A | null): void {
    this.context.forward({
      key: { key, window },
      value,
      timestamp: window.end,
      headers: {},
      ...this.context.position(),
    });
  }
}
