import { generatedRecords } from './generated-cases';
import type { InputRecord, WindowSpec } from './scenario';

/**
 * Inputs of the window aggregation scenarios. Each case runs in every emit mode (see windows.test.ts).
 * Cases named after a Kafka Streams test port its input (KStreamWindowAggregateTest,
 * KStreamSessionWindowAggregateProcessorTest); the expected outputs always come from Kafka Streams.
 */
export interface WindowCase {
  readonly name: string;
  readonly windows: WindowSpec;
  readonly records: readonly InputRecord[];
  /**
   * Only emit updates: with epoch-scale times, Kafka Streams' emit-on-close of sessions loses the
   * results of sessions whose 60 s store segment expired before they closed (see topology/README.md).
   */
  readonly updatesOnly?: boolean;
}

/** An input record: `k@ts=value`, partition 0 unless given. */
function r(key: string, value: string, timestamp: number, partition = 0): InputRecord {
  return { topic: 'input', key, value, timestamp, partition };
}

/** One record per `key@timestamp` token, valued by its position: compact inputs for long cases. */
function seq(tokens: string): InputRecord[] {
  return tokens
    .trim()
    .split(/\s+/)
    .map((token, i) => {
      const [key, at] = token.split('@') as [string, string];
      const [timestamp, partition] = at.split('/');
      return r(key, `v${i}`, Number(timestamp), partition === undefined ? 0 : Number(partition));
    });
}

const EPOCH_2026 = Date.UTC(2026, 0, 1);

export const WINDOW_CASES: readonly WindowCase[] = [
  {
    name: 'tumbling: in order, several keys',
    windows: { type: 'tumbling', sizeMs: 10, graceMs: 0 },
    records: seq('a@0 b@3 a@9 a@10 b@15 c@19 a@21 b@30'),
  },
  {
    name: 'tumbling: out of order within grace, late beyond grace',
    windows: { type: 'tumbling', sizeMs: 10, graceMs: 5 },
    records: seq('a@1 a@9 b@3 a@12 a@14 a@8 c@15 a@9 b@2 c@24 a@19 a@10 c@100 a@94'),
  },
  {
    name: 'tumbling: windows closing together are emitted in key order',
    windows: { type: 'tumbling', sizeMs: 10, graceMs: 0 },
    records: seq('b@1 c@2 aa@3 a@4 ab@5 b@6 x@20 c@25 a@21 x@40'),
  },
  {
    name: 'tumbling: a record exactly at end + grace closes the window',
    windows: { type: 'tumbling', sizeMs: 10, graceMs: 3 },
    records: seq('a@0 a@12 a@9 a@13 a@9 a@10 a@23 a@13'),
  },
  {
    name: 'tumbling: partitions keep their own stream time',
    windows: { type: 'tumbling', sizeMs: 10, graceMs: 0 },
    records: seq('a@0/0 b@100/1 a@5/0 b@50/1 a@12/0 b@101/1 a@3/0 b@99/1 a@30/0'),
  },
  {
    name: 'hopping: a record counts in each open window, partly late records only there',
    windows: { type: 'hopping', sizeMs: 10, advanceMs: 5, graceMs: 0 },
    records: seq('k@7 k@12 k@10 k@4 k@9 j@11 k@40 j@41'),
  },
  {
    // KStreamWindowAggregateTest#shouldLogAndMeterWhenSkippingExpiredWindowByGrace
    name: 'hopping: expired by grace (port of KStreamWindowAggregateTest)',
    windows: { type: 'hopping', sizeMs: 10, advanceMs: 5, graceMs: 90 },
    records: seq('k@100 k@0 k@1 k@2 k@3 k@4 k@5 k@6 k@105 k@106'),
  },
  {
    // KStreamWindowAggregateTest#testAggBasic
    name: 'hopping: basic aggregation (port of KStreamWindowAggregateTest)',
    windows: { type: 'hopping', sizeMs: 10, advanceMs: 5, graceMs: 100 },
    records: seq('A@0 B@1 C@2 D@3 A@4 A@5 B@6 D@7 B@8 C@9 A@10 B@11 D@12 B@13 C@14 A@200'),
  },
  {
    name: 'hopping: size not a multiple of advance, grace, several keys',
    windows: { type: 'hopping', sizeMs: 10, advanceMs: 3, graceMs: 2 },
    records: seq('a@5 b@7 a@14 a@2 b@12 a@16 b@4 a@11 b@30 a@20 b@28'),
  },
  {
    name: 'session: records within the gap merge, bridging records merge sessions',
    windows: { type: 'session', gapMs: 10, graceMs: 0 },
    records: seq('a@0 a@5 b@2 a@20 a@12 b@14 b@30 a@45 b@60'),
  },
  {
    // The example of issue 11: Kafka Streams also allows the inactivity gap before a record is late.
    name: 'session: a record into an open session past end + grace (gap allowed)',
    windows: { type: 'session', gapMs: 10, graceMs: 0 },
    records: seq('u@0 u@5 v@12 u@3 v@16 u@1 v@40'),
  },
  {
    // KStreamSessionWindowAggregateProcessorTest#shouldLogAndMeterWhenSkippingLateRecordWithZeroGrace
    name: 'session: late with zero grace (port of KStreamSessionWindowAggregateProcessorTest)',
    windows: { type: 'session', gapMs: 10, graceMs: 0 },
    records: [r('dummy', 'dummy', 0), r('OnTime1', '1', 0), r('dummy', 'dummy', 11), r('Late1', '1', 0)],
  },
  {
    // KStreamSessionWindowAggregateProcessorTest#shouldLogAndMeterWhenSkippingLateRecordWithNonzeroGrace
    name: 'session: late with non-zero grace (port of KStreamSessionWindowAggregateProcessorTest)',
    windows: { type: 'session', gapMs: 10, graceMs: 1 },
    records: [
      r('dummy', 'dummy', 0),
      r('OnTime1', '1', 0),
      r('dummy', 'dummy', 11),
      r('OnTime2', '1', 0),
      r('dummy', 'dummy', 12),
      r('Late1', '1', 0),
    ],
  },
  {
    // KStreamSessionWindowAggregateProcessorTest#shouldHandleMultipleSessionsAndMerging
    name: 'session: several keys and merges (port of KStreamSessionWindowAggregateProcessorTest)',
    windows: { type: 'session', gapMs: 60, graceMs: 300 },
    records: [
      r('a', '1', 0),
      r('b', '1', 0),
      r('c', '1', 0),
      r('d', '1', 0),
      r('d', '2', 60 / 2),
      r('d', '3', 60 + 1),
      r('a', '2', 60 + 1),
      r('b', '3', 60 + 1),
      r('c', '3', 60 + 1),
      r('b', '4', 200),
      r('a', '5', 200 + 30),
      r('c', '4', 200 + 120),
    ],
  },
  {
    name: 'session: a record at the time of a session updates it; duplicates',
    windows: { type: 'session', gapMs: 5, graceMs: 0 },
    records: seq('a@10 a@10 a@10 b@10 a@13 a@13 z@40'),
  },
  {
    name: 'session: a session emitted on close can still be extended within the gap',
    windows: { type: 'session', gapMs: 10, graceMs: 0 },
    records: seq('a@0 v@11 a@10 v@12 a@21 v@32 v@60 a@35 v@80'),
  },
  {
    name: 'session: grace, out of order, partitions',
    windows: { type: 'session', gapMs: 5, graceMs: 3 },
    records: seq('a@10/0 b@10/1 a@18/0 a@14/0 b@40/1 b@12/1 a@30/0 a@21/0 a@20/0 b@50/1 a@60/0'),
  },
  ...(
    [
      { type: 'tumbling', sizeMs: 10, graceMs: 3 },
      { type: 'hopping', sizeMs: 12, advanceMs: 4, graceMs: 2 },
      { type: 'session', gapMs: 5, graceMs: 4 },
      { type: 'session', gapMs: 3, graceMs: 0 },
    ] as const
  ).flatMap((windows, w) =>
    [1, 2].map((n) => ({
      name: `${windows.type} ${w}: generated input ${n}`,
      windows,
      records: generatedRecords(1000 * w + n, 60, ['input']),
    })),
  ),
  // Epoch-scale timestamps (1 s steps from 2026-01-01) and windows of seconds to minutes: Kafka
  // Streams' RocksDB stores work in segments of at least a minute, which must not change results.
  ...(
    [
      { type: 'tumbling', sizeMs: 60_000, graceMs: 10_000 },
      { type: 'hopping', sizeMs: 60_000, advanceMs: 15_000, graceMs: 5_000 },
      { type: 'session', gapMs: 5_000, graceMs: 3_000 },
    ] as const
  ).map((windows, w) => ({
    name: `${windows.type}: generated epoch-scale input`,
    windows,
    records: generatedRecords(7000 + w, 80, ['input'], { base: EPOCH_2026, scale: 1_000 }),
    updatesOnly: windows.type === 'session',
  })),
];
