/**
 * A conformance scenario: one topology and its input, run through Kafka Streams (the Java harness in
 * kstreams-harness/) and through StackLens' TopologyTestDriver. Both sides build the same topology
 * from this description: aggregations concatenate values (initializer "", aggregator agg + value +
 * ";", session merger a + b), joiners give `${left}+${right}` ("null" for a missing side).
 */
export type WindowSpec =
  | { readonly type: 'tumbling'; readonly sizeMs: number; readonly graceMs: number }
  | {
      readonly type: 'hopping';
      readonly sizeMs: number;
      readonly advanceMs: number;
      readonly graceMs: number;
    }
  | { readonly type: 'session'; readonly gapMs: number; readonly graceMs: number };

export type TopologySpec =
  | {
      readonly kind: 'window';
      readonly windows: WindowSpec;
      readonly emit: 'updates' | 'final';
      /**
       * Kafka Streams side only, for `final`: `emitStrategy(EmitStrategy.onWindowClose())` or
       * `suppress(Suppressed.untilWindowCloses(...))`.
       */
      readonly finalVia?: 'onWindowClose' | 'suppress';
    }
  | {
      readonly kind: 'join';
      readonly join: 'inner' | 'left' | 'outer';
      readonly timeDifferenceMs: number;
      readonly graceMs: number;
    };

export interface InputRecord {
  /** `input` for aggregations, `left` / `right` for joins. */
  readonly topic: 'input' | 'left' | 'right';
  readonly key: string;
  readonly value: string;
  readonly timestamp: number;
  /** Each partition is a task of its own (own stream time and stores); default 0. */
  readonly partition?: number;
}

export interface Scenario {
  readonly name: string;
  readonly topology: TopologySpec;
  readonly records: readonly InputRecord[];
}

export interface OutputRecord {
  readonly key: string;
  readonly window?: { readonly start: number; readonly end: number };
  readonly value: string | null;
  readonly timestamp: number;
}

/** What one input record caused. */
export interface Step {
  readonly outputs: readonly OutputRecord[];
  /** Times Kafka Streams counted the record in its dropped-records metric (Java side only). */
  readonly droppedCount?: number;
  /** Windows the record belongs to (time windows; 1 otherwise) (Java side only). */
  readonly windowCount?: number;
  /** Dropped as late: it changed no window / joined nothing and went to the late topic. */
  readonly late?: boolean;
}

export interface ScenarioResult {
  readonly name: string;
  readonly steps: readonly Step[];
}

/**
 * Kafka Streams drops a record once per window it is too late for: a record is late (for StackLens,
 * sent to the late topic) when it was dropped from every window it belongs to.
 */
export function lateInKafkaStreams(step: Step): boolean {
  return (step.droppedCount ?? 0) > 0 && (step.droppedCount ?? 0) >= (step.windowCount ?? 1);
}
