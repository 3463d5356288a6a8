import { generatedRecords } from './generated-cases';
import type { InputRecord } from './scenario';

/**
 * Inputs of the stream-stream join scenarios; each case runs as an inner, a left and an outer join
 * (see joins.test.ts). Cases named after a Kafka Streams test port its input (KStreamKStreamJoinTest,
 * KStreamKStreamLeftJoinTest, KStreamKStreamOuterJoinTest); expected outputs come from Kafka Streams.
 */
export interface JoinCase {
  readonly name: string;
  readonly timeDifferenceMs: number;
  readonly graceMs: number;
  readonly records: readonly InputRecord[];
}

/** `L:key@ts=value` / `R:key@ts=value`, optionally `/partition` after the timestamp. */
function seq(tokens: string): InputRecord[] {
  return tokens
    .trim()
    .split(/\s+/)
    .map((token) => {
      const match = /^([LR]):([^@]+)@(\d+)(?:\/(\d+))?=(.+)$/.exec(token);
      if (!match) throw new Error(`bad join input token ${token}`);
      const [, side, key, timestamp, partition, value] = match as unknown as [
        string,
        string,
        string,
        string,
        string | undefined,
        string,
      ];
      return {
        topic: side === 'L' ? 'left' : 'right',
        key,
        value,
        timestamp: Number(timestamp),
        partition: partition === undefined ? 0 : Number(partition),
      };
    });
}

export const JOIN_CASES: readonly JoinCase[] = [
  {
    name: 'in order, matches both ways, several keys',
    timeDifferenceMs: 10,
    graceMs: 0,
    records: seq('L:a@0=a0 R:a@5=x0 R:b@6=x1 L:b@10=b1 L:a@20=a2 R:a@31=x2 L:c@40=c0 R:a@55=x3'),
  },
  {
    // KStreamKStreamOuterJoinTest#testOuterJoinDuplicates
    name: 'duplicates, joined and not joined (port of KStreamKStreamOuterJoinTest)',
    timeDifferenceMs: 100,
    graceMs: 10,
    records: seq(
      'L:0@0=A0 L:0@0=A0-0 R:1@0=11 R:1@0=12 R:1@111=10 R:3@211=100 L:2@200=A2 L:2@200=A2-0 R:2@201=13 R:2@201=14 R:3@1500=100',
    ),
  },
  {
    // KStreamKStreamOuterJoinTest#testLeftExpiredNonJoinedRecordsAreEmittedByTheLeftProcessor
    name: 'expired left records emitted by a left record (port of KStreamKStreamOuterJoinTest)',
    timeDifferenceMs: 100,
    graceMs: 0,
    records: seq('L:0@1001=A0 L:1@1002=A1 L:0@1003=A0-0 R:1@1003=11 L:2@1401=dummy R:2@1401=100'),
  },
  {
    // KStreamKStreamOuterJoinTest#testLeftExpiredNonJoinedRecordsAreEmittedByTheRightProcessor
    name: 'expired left records emitted by a right record (port of KStreamKStreamOuterJoinTest)',
    timeDifferenceMs: 100,
    graceMs: 0,
    records: seq('L:0@1001=A0 L:1@1002=A1 L:0@1003=A0-0 R:1@1003=11 R:2@1401=100 L:2@1402=dummy'),
  },
  {
    // KStreamKStreamOuterJoinTest#testRightExpiredNonJoinedRecordsAreEmittedByTheLeftProcessor
    name: 'expired right records emitted by a left record (port of KStreamKStreamOuterJoinTest)',
    timeDifferenceMs: 100,
    graceMs: 0,
    records: seq('R:0@1001=10 R:1@1002=11 R:0@1003=12 L:1@1003=A1 L:2@1401=dummy R:2@1402=100'),
  },
  {
    // KStreamKStreamOuterJoinTest#testOrdering
    name: 'ordering of unmatched and joined results (port of KStreamKStreamOuterJoinTest)',
    timeDifferenceMs: 100,
    graceMs: 0,
    records: seq('L:0@0=A0 L:1@100=A1 R:1@110=11'),
  },
  {
    // KStreamKStreamOuterJoinTest#testGracePeriod
    name: 'grace period (port of KStreamKStreamOuterJoinTest)',
    timeDifferenceMs: 100,
    graceMs: 10,
    records: seq('L:0@0=A0 R:1@0=11 L:1@101=A1 R:0@101=10 R:0@112=100'),
  },
  {
    // KStreamKStreamLeftJoinTest#testLeftJoinedRecordsWithZeroAfterAreEmitted (symmetric here)
    name: 'several keys joined twice, zero time difference (after KStreamKStreamLeftJoinTest)',
    timeDifferenceMs: 0,
    graceMs: 0,
    records: seq(
      'L:0@1000=A0 L:1@1001=A1 L:2@1002=A2 L:3@1003=A3 R:0@1000=a0 R:1@1001=a1 R:2@1002=a2 R:3@1003=a3 R:0@1000=b0 R:1@1001=b1 R:2@1003=b2 R:3@1010=b3 L:9@1100=z',
    ),
  },
  {
    name: 'out of order within grace, late beyond grace, stores past retention',
    timeDifferenceMs: 10,
    graceMs: 5,
    records: seq(
      'L:k@100=a R:x@200=x0 R:k@184=p1 R:k@95=p0 R:k@185=p2 L:k@190=b L:k@170=c R:k@101=p3 R:x@260=x1 L:k@240=d R:k@249=p4 L:z@300=z',
    ),
  },
  {
    name: 'an unmatched record whose window already ended is emitted at once',
    timeDifferenceMs: 5,
    graceMs: 20,
    records: seq('L:a@100=a0 R:b@120=b0 L:c@105=c0 R:c@111=c1 L:a@90=a1 R:a@96=x R:z@200=z L:q@150=late'),
  },
  {
    name: 'partitions keep their own stream time and stores',
    timeDifferenceMs: 10,
    graceMs: 0,
    records: seq(
      'L:a@0/0=a0 L:b@100/1=b0 R:a@5/0=x0 R:b@50/1=y0 L:a@30/0=a1 R:b@95/1=y1 L:a@12/0=a2 R:a@14/0=x1 L:b@200/1=b1 R:a@60/0=x2',
    ),
  },
  ...[
    { timeDifferenceMs: 6, graceMs: 3 },
    { timeDifferenceMs: 2, graceMs: 10 },
  ].flatMap((windows, w) =>
    [1, 2].map((n) => ({
      name: `generated input ${w}.${n}`,
      ...windows,
      records: generatedRecords(5000 + 100 * w + n, 60, ['left', 'right']),
    })),
  ),
  {
    // Epoch-scale timestamps: Kafka Streams' RocksDB stores work in segments of at least a minute.
    name: 'generated epoch-scale input',
    timeDifferenceMs: 6_000,
    graceMs: 3_000,
    records: generatedRecords(9001, 80, ['left', 'right'], { base: Date.UTC(2026, 0, 1), scale: 1_000 }),
  },
];
