import type { AlertLog } from '../../processors/alerts';
import { DEFAULT_DRAIN_SETTINGS } from '../../processors/patterns';
import { sampleLog } from '../../test/support/otlp-fixtures';
import { jsonSerde, stringSerde, TopologyBuilder } from '../../topology';
import { CollectingSink, TopologyTestDriver } from '../../topology/testing';
import {
  LOG_PATTERN_MINERS_STORE,
  LOG_PATTERN_STATS_STORE,
  LogPatternMiner,
  logPatternStoreSpecs,
  serviceMinerSerde,
  type LogPatternSettings,
  type PatternOutput,
  type ServiceMiner,
} from './log-patterns';

const T0 = Date.UTC(2026, 0, 15, 10, 30);
const BUCKET = 10_000;
const settings: LogPatternSettings = {
  drain: DEFAULT_DRAIN_SETTINGS,
  anomalies: { bucketMs: BUCKET, alpha: 0.2, deviations: 4, warmupBuckets: 3 },
  maxBodyChars: 1_024,
};

function miner() {
  const sink = new CollectingSink<string, PatternOutput>('outputs');
  const builder = new TopologyBuilder();
  for (const spec of logPatternStoreSpecs(settings)) builder.addStateStore(spec);
  builder
    .stream<string, AlertLog>('logs', 'logs', { keySerde: stringSerde(), valueSerde: jsonSerde<AlertLog>() })
    .process<string, PatternOutput>('miner', () => new LogPatternMiner(settings), {
      stores: [LOG_PATTERN_MINERS_STORE, LOG_PATTERN_STATS_STORE],
    })
    .toSink('to-sink', sink);
  const driver = new TopologyTestDriver(builder.build(), { applicationId: 'log-patterns' });
  const input = driver.createInputTopic<string, AlertLog>('logs', {
    keySerde: stringSerde(),
    valueSerde: jsonSerde<AlertLog>(),
  });
  let n = 0;
  const send = (timeMs: number, body: string, severity = 9) => {
    const log = sampleLog({
      id: `otel-logs:0:${n++}:0`,
      service: 'palantir',
      severity_number: severity,
      severity_text: severity >= 17 ? 'ERROR' : 'INFO',
      body,
      time_ms: timeMs,
      trace_id: 'a'.repeat(32),
    });
    input.pipe('palantir', log, timeMs);
  };
  const outputs = () => sink.buffered.map((w) => w.record.value);
  const alerts = () => outputs().flatMap((o) => (o.kind === 'alert' ? [o.alert] : []));
  return { driver, send, outputs, alerts };
}

/** Six buckets of a steady service: per bucket 5 INFO lines and 1 ERROR line of a known template. */
function steady(m: ReturnType<typeof miner>, buckets = 6): void {
  for (let b = 0; b < buckets; b++) {
    for (let i = 0; i < 5; i++)
      m.send(T0 + b * BUCKET + i * 100, `Aggregated ${3 + (i % 4)} inventory items`);
    m.send(T0 + b * BUCKET + 600, 'Product price is null or missing', 17);
  }
}

describe('LogPatternMiner', () => {
  it('gives every line its pattern and reports the closed buckets with their counts', () => {
    const m = miner();
    steady(m, 3);
    m.send(T0 + 3 * BUCKET, 'Aggregated 4 inventory items');
    const refs = m.outputs().flatMap((o) => (o.kind === 'ref' ? [o.ref] : []));
    expect(refs).toHaveLength(19);
    expect(new Set(refs.map((r) => r.pattern_id))).toEqual(new Set([1, 2]));
    expect(refs[0]).toMatchObject({ record_id: 'otel-logs:0:0:0', service: 'palantir', pattern_id: 1 });
    const buckets = m.outputs().flatMap((o) => (o.kind === 'bucket' ? [o.bucket] : []));
    expect(buckets.filter((b) => b.pattern_id === 1).map((b) => [b.bucket_start_ms - T0, b.count])).toEqual([
      [0, 5],
      [BUCKET, 5],
      [2 * BUCKET, 5],
    ]);
    expect(buckets[0]).toMatchObject({ template: 'Aggregated <NUM> inventory items', first_seen_ms: T0 });
    expect(m.alerts()).toEqual([]); // the service's first buckets are its baseline
    m.driver.close();
  });

  it('raises a new error pattern after the warm-up, with the novelty as confidence', () => {
    const m = miner();
    steady(m);
    m.send(T0 + 6 * BUCKET + 10, 'Price cache refresh failed: pricing-db replica db-3 unreachable', 17);
    m.send(T0 + 6 * BUCKET + 20, 'Price cache refresh failed: pricing-db replica db-4 unreachable', 17);
    m.send(T0 + 6 * BUCKET + 30, 'Cache warmed in 20 ms'); // new, but not an error
    const alerts = m.alerts();
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      rule_id: 'log-pattern-new',
      issue_code: 'NEW_ERROR_LOG_PATTERN',
      severity: 'error',
      service: 'palantir',
      related_logs: ['otel-logs:0:36:0'],
      related_trace_id: 'a'.repeat(32),
      confidence: 1,
    });
    expect(alerts[0]!.message).toContain('Price cache refresh failed');
    m.driver.close();
  });

  it("raises a rate spike once per bucket when a pattern's count leaves its band", () => {
    const m = miner();
    steady(m);
    for (let i = 0; i < 40; i++) m.send(T0 + 6 * BUCKET + i * 10, 'Product price is null or missing', 17);
    const spikes = m.alerts().filter((a) => a.issue_code === 'LOG_PATTERN_SPIKE');
    expect(spikes).toHaveLength(1);
    // mean 1, σ floored at 1, band 1 + 4: the sixth line crosses it; z = 5 → confidence 1 − 1/25
    expect(spikes[0]).toMatchObject({ rule_id: 'log-pattern-rate', count: 6, confidence: 0.96 });
    expect(spikes[0]!.window_start).toBe(new Date(T0 + 6 * BUCKET).toISOString());
    m.driver.close();
  });

  it("restores a service's miner from its changelog form", () => {
    const serde = serviceMinerSerde(settings.drain);
    const m = miner();
    steady(m, 2);
    const live = m.driver.keyValueStore<string, ServiceMiner>(LOG_PATTERN_MINERS_STORE).get('palantir')!;
    const restored = serde.deserialize(serde.serialize(live));
    expect(restored.firstSeenMs).toBe(T0);
    expect(restored.drain.snapshot()).toEqual(live.drain.snapshot());
    expect(restored.drain.add('Aggregated 9 inventory items').clusterId).toBe(1);
    expect(() => serde.deserialize(Buffer.from('{"x":1}'))).toThrow(/drain snapshot/);
    m.driver.close();
  });
});
