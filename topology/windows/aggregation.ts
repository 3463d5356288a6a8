import type { Serde } from '../serde';

/**
 * How a windowed aggregation folds records. `serdes` serialize the aggregate for the changelog and
 * the input key/value for the late-records topic (JSON by default).
 */
export interface AggregationOptions<K, V, A> {
  readonly initializer: () => A;
  readonly aggregator: (key: K, value: V, aggregate: A) => A;
  /**
   * `final` (default): one result per window, emitted when it closes (time windows: stream time
   * reaches end + grace; sessions: stream time passes end + gap + grace).
   * `updates`: a result on every change of a window; for sessions also a tombstone (null value) for
   * each session a record merged into a larger one.
   */
  readonly emit?: 'final' | 'updates';
  readonly keySerde?: Serde<K>;
  readonly valueSerde?: Serde<V>;
  readonly aggregateSerde?: Serde<A>;
  /** Bound of the window store (entries = open windows x keys). */
  readonly maxEntries?: number;
}

export interface SessionAggregationOptions<K, V, A> extends AggregationOptions<K, V, A> {
  /** Combines the aggregates of two sessions that a record bridges. */
  readonly merger: (key: K, left: A, right: A) => A;
}
