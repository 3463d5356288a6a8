import {
  TopologyBuilder,
  type Sink,
  type SourcePosition,
  type SourceRange,
  type StreamRecord,
} from '../../topology';
import { StreamsApp } from '../../topology/runtime/streams-app';
import { createTopics, produce, testAppOptions, testKafka, uniqueName } from '../support/topology-kafka';
import { waitFor } from '../support/wait-for';

jest.setTimeout(180_000);

/**
 * A sink that is "down" (flush rejects) until brought up. Idempotent as the Sink contract asks:
 * a flush is stored under its range start, so a replayed range overwrites instead of duplicating.
 */
class FlakySink implements Sink<string, number> {
  readonly name = 'flaky';
  up = false;
  failedFlushes = 0;
  buffered: { value: number; source: SourcePosition }[] = [];
  readonly objects = new Map<number, { range: SourceRange; values: number[] }>();

  write(record: StreamRecord<string, number>, source: SourcePosition): void {
    this.buffered.push({ value: record.value, source });
  }

  async flush(ranges: readonly SourceRange[]): Promise<void> {
    if (!this.up) {
      this.failedFlushes += 1;
      throw new Error('sink is down');
    }
    const [range] = ranges;
    if (range)
      this.objects.set(Number(range.firstOffset), { range, values: this.buffered.map((w) => w.value) });
    this.buffered = [];
  }

  durable(): number[] {
    return [...this.objects.keys()].sort((a, b) => a - b).flatMap((start) => this.objects.get(start)!.values);
  }

  discard(): void {
    this.buffered = [];
  }
}

async function gauge(
  app: StreamsApp,
  name: 'pausedPartitions' | 'inFlightRecords' | 'stalledSeconds',
): Promise<number> {
  return (await app.metrics[name].get()).values.reduce((sum, v) => sum + v.value, 0);
}

async function consumed(app: StreamsApp): Promise<number> {
  return (await app.metrics.recordsConsumed.get()).values.reduce((sum, v) => sum + v.value, 0);
}

describe('topology runtime: backpressure and a sink that is down', () => {
  it('pauses the partition at the in-flight bound while the sink is down, retries, skips nothing', async () => {
    const kafka = testKafka();
    const [input, appId] = ['bp-in', 'bp-app'].map(uniqueName) as [string, string];
    await createTopics(kafka, [{ topic: input, partitions: 1 }]);
    const sink = new FlakySink();
    const builder = new TopologyBuilder();
    builder.stream<string, number>('in', input).toSink('flaky-sink', sink);
    const bound = 100;
    const app = new StreamsApp(
      builder.build(),
      testAppOptions(appId, {
        maxInFlightRecords: bound,
        sinkRetryInitialMs: 20,
        sinkRetryMaxMs: 200,
        stallTimeoutMs: 2_000,
      }),
    );
    const value = (i: number) => ({ key: JSON.stringify(`k${i}`), value: JSON.stringify(i) });
    await produce(
      kafka,
      input,
      Array.from({ length: 5_000 }, (_, i) => value(i)),
    );
    await app.start();
    try {
      await waitFor(
        'the partition to pause on the failing sink',
        async () => sink.failedFlushes >= 3 && (await gauge(app, 'pausedPartitions')) === 1,
        60_000,
      );
      // Input keeps arriving while the sink is down; the runtime must not take more of it.
      await produce(
        kafka,
        input,
        Array.from({ length: 5_000 }, (_, i) => value(5_000 + i)),
      );
      await waitFor('more retries', () => sink.failedFlushes >= 10, 60_000);
      // Readiness sees a pipeline that has lag and commits nothing.
      await waitFor('the stall to be reported', () => app.problem() !== undefined, 60_000);
      expect(app.problem()).toMatch(/^no commit for \d+ s while the input has lag$/);
      await waitFor('the stall gauge', async () => (await gauge(app, 'stalledSeconds')) >= 2, 60_000);
      expect(await consumed(app)).toBe(bound);
      expect(sink.buffered).toHaveLength(bound);
      expect(await gauge(app, 'inFlightRecords')).toBe(bound);
      expect(sink.objects.size).toBe(0);
      console.log(
        `sink down: ${sink.failedFlushes} failed flushes, ${await consumed(app)} records consumed and held`,
      );

      sink.up = true;
      await waitFor('every record to reach the sink', () => sink.durable().length >= 10_000, 90_000);
      expect(sink.durable()).toEqual(Array.from({ length: 10_000 }, (_, i) => i));
      // Ranges follow each other without gap or overlap, each at most `bound` records.
      let next = 0;
      for (const { range } of [...sink.objects.values()].sort(
        (a, b) => Number(a.range.firstOffset) - Number(b.range.firstOffset),
      )) {
        expect(Number(range.firstOffset)).toBe(next);
        expect(Number(range.lastOffset) - Number(range.firstOffset) + 1).toBeLessThanOrEqual(bound);
        next = Number(range.lastOffset) + 1;
      }
      expect(next).toBe(10_000);
      expect(await gauge(app, 'pausedPartitions')).toBe(0);
      await waitFor('readiness to recover', () => app.problem() === undefined, 60_000);
    } finally {
      await app.stop();
    }
  });
});
