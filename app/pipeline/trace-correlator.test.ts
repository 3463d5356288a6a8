import type { Correlation } from '../../processors/records';
import { jsonSerde, stringSerde, TopologyBuilder } from '../../topology';
import { CollectingSink, TopologyTestDriver } from '../../topology/testing';
import { sampleLog, sampleSpan } from '../../test/support/otlp-fixtures';
import type { CorrelationInput } from './correlation-input';
import {
  MAX_TRACKED_SPAN_IDS,
  TRACE_CORRELATIONS_STORE,
  traceCorrelationsStoreSpec,
  TraceCorrelator,
  traceStateSerde,
  type TraceState,
} from './trace-correlator';

const WINDOW_MS = 2_000;
const GRACE_MS = 1_000;
const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';

function correlator() {
  const sink = new CollectingSink<string, Correlation>('stacklens_correlations');
  const builder = new TopologyBuilder();
  builder.addStateStore(traceCorrelationsStoreSpec(10_000));
  builder
    .stream<string, CorrelationInput>('inputs', 'inputs', {
      keySerde: stringSerde(),
      valueSerde: jsonSerde<CorrelationInput>(),
    })
    .process<string, Correlation>(
      'correlate',
      () =>
        new TraceCorrelator({
          windowMs: WINDOW_MS,
          graceMs: GRACE_MS,
          retentionMs: 10 * WINDOW_MS,
          checkIntervalMs: 1_000,
        }),
      { stores: [TRACE_CORRELATIONS_STORE] },
    )
    .toSink('to-sink', sink);
  const driver = new TopologyTestDriver(builder.build(), { applicationId: 'corr' });
  const input = driver.createInputTopic<string, CorrelationInput>('inputs', {
    keySerde: stringSerde(),
    valueSerde: jsonSerde<CorrelationInput>(),
  });
  const latest = () => sink.buffered.map((w) => w.record.value).at(-1);
  const state = () => driver.keyValueStore<string, TraceState>(TRACE_CORRELATIONS_STORE).get(traceId);
  return { driver, input, sink, latest, state };
}

const span = (spanId: string, startMs: number, trace = traceId) =>
  sampleSpan({ trace_id: trace, span_id: spanId, start_ms: startMs, parent_span_id: 'aaaaaaaaaaaaaaaa' });
/** A span of another trace, far enough in event time to close the first trace's window. */
const later = (timeMs: number): CorrelationInput => ({
  kind: 'span',
  span: span('00000000000000b1', timeMs, '0af7651916cd43dd8448eb211c80319c'),
});

describe('TraceCorrelator', () => {
  const t0 = Date.UTC(2026, 0, 15, 10, 30);

  it('counts a replayed span once, before and after its correlation was emitted', () => {
    const c = correlator();
    const inputs: CorrelationInput[] = [
      { kind: 'span', span: span('00000000000000a1', t0) },
      { kind: 'span', span: span('00000000000000a2', t0 + 5) },
      { kind: 'log', log: sampleLog({ trace_id: traceId, id: 'otel-logs:0:1:0' }) },
    ];
    for (const value of [...inputs, ...inputs]) c.input.pipe(traceId, value, t0 + 10);
    c.input.pipe('0af7651916cd43dd8448eb211c80319c', later(t0 + 60_000), t0 + 60_000);
    expect(c.latest()).toMatchObject({ trace_id: traceId, span_count: 2, log_count: 1 });
    const emitted = c.sink.buffered.length;

    // The same records again, after the emission: nothing changes, nothing is emitted.
    for (const value of inputs) c.input.pipe(traceId, value, t0 + 10);
    expect(c.sink.buffered).toHaveLength(emitted);

    // A span not seen before still updates the emitted correlation at once.
    c.input.pipe(traceId, { kind: 'span', span: span('00000000000000a3', t0 + 7) }, t0 + 10);
    expect(c.latest()).toMatchObject({ trace_id: traceId, span_count: 3 });
    c.driver.close();
  });

  it(`stops remembering span ids after ${MAX_TRACKED_SPAN_IDS} spans and counts the rest`, () => {
    const c = correlator();
    const many = MAX_TRACKED_SPAN_IDS + 2;
    for (let i = 0; i < many; i++) {
      c.input.pipe(traceId, { kind: 'span', span: span(i.toString(16).padStart(16, '0'), t0) }, t0);
    }
    const last = (many - 1).toString(16).padStart(16, '0');
    c.input.pipe(traceId, { kind: 'span', span: span(last, t0) }, t0);
    c.input.pipe('0af7651916cd43dd8448eb211c80319c', later(t0 + 60_000), t0 + 60_000);
    expect(c.latest()).toMatchObject({ trace_id: traceId, span_count: many + 1 });
    c.driver.close();
  });

  it('changes a trace in place: no record copies what the trace already holds', () => {
    const c = correlator();
    const log = (i: number): CorrelationInput => ({
      kind: 'log',
      log: sampleLog({ trace_id: traceId, id: `otel-logs:0:${String(i).padStart(6, '0')}:0` }),
    });
    c.input.pipe(traceId, log(0), t0);
    const first = c.state()!;
    const { correlation } = first;
    const { log_ids: logIds, services } = correlation;
    const { spanIds } = first;
    // Well past both bounds (span ids remembered, log ids kept), in an order that inserts mid-list.
    for (let i = 1; i <= 1_050; i++) {
      c.input.pipe(traceId, log(i % 2 === 0 ? i : 2_000 - i), t0 + 1);
      c.input.pipe(traceId, { kind: 'span', span: span(i.toString(16).padStart(16, '0'), t0) }, t0 + 1);
      const now = c.state()!;
      expect(now).toBe(first);
      expect(now.correlation).toBe(correlation);
      expect(now.correlation.log_ids).toBe(logIds);
      expect(now.correlation.services).toBe(services);
      expect(now.spanIds).toBe(spanIds);
    }
    expect(correlation).toMatchObject({ span_count: 1_050, log_count: 1_051, version: 2_101 });
    expect(logIds).toHaveLength(1_000);
    expect(logIds).toEqual([...logIds].sort());
    expect(spanIds.size).toBe(MAX_TRACKED_SPAN_IDS);
    c.driver.close();
  });

  it('emits closed traces in order of their close time, then evicts each once its retention has passed', () => {
    const c = correlator();
    const traces = ['cc', 'aa', 'bb'].map((p) => p.repeat(16));
    // Arrival order c, a, b; closes: b first (latest event earliest), then a and c together (a first by id).
    c.input.pipe(traces[0]!, { kind: 'span', span: span('00000000000000c1', t0 + 500, traces[0]) }, t0 + 500);
    c.input.pipe(traces[1]!, { kind: 'span', span: span('00000000000000a1', t0 + 500, traces[1]) }, t0 + 500);
    c.input.pipe(traces[2]!, { kind: 'span', span: span('00000000000000b1', t0, traces[2]) }, t0);
    c.input.pipe('0af7651916cd43dd8448eb211c80319c', later(t0 + 5_000), t0 + 5_000);
    expect(c.sink.buffered.map((w) => w.record.key)).toEqual([traces[2], traces[1], traces[0]]);
    const store = c.driver.keyValueStore<string, TraceState>(TRACE_CORRELATIONS_STORE);
    expect(traces.every((t) => store.get(t) !== undefined)).toBe(true);
    // Retention (10 windows) after their close: evicted, and the index no longer holds them either.
    c.input.pipe('0af7651916cd43dd8448eb211c80319c', later(t0 + 40_000), t0 + 40_000);
    expect(traces.map((t) => store.get(t))).toEqual([undefined, undefined, undefined]);
    // Each emitted once (the other emission is the trace that moved stream time on).
    expect(c.sink.buffered.filter((w) => traces.includes(w.record.key))).toHaveLength(3);
    c.driver.close();
  });

  it('emits copies: an emitted correlation stays the version it was when the trace changes on', () => {
    const c = correlator();
    c.input.pipe(traceId, { kind: 'span', span: span('00000000000000a1', t0) }, t0);
    c.input.pipe('0af7651916cd43dd8448eb211c80319c', later(t0 + 60_000), t0 + 60_000);
    const emitted = c.latest()!;
    expect(emitted).toMatchObject({ trace_id: traceId, span_count: 1, version: 1 });
    c.input.pipe(traceId, { kind: 'span', span: span('00000000000000a2', t0 + 1) }, t0 + 60_001);
    expect(c.latest()).toMatchObject({ trace_id: traceId, span_count: 2, version: 2 });
    expect(emitted).toMatchObject({ span_count: 1, version: 1 });
    expect(emitted).not.toBe(c.state()!.correlation);
    c.driver.close();
  });

  it('writes its state as JSON with the span ids in arrival order, and reads states written before', () => {
    const c = correlator();
    for (const id of ['00000000000000c2', '00000000000000c1'])
      c.input.pipe(traceId, { kind: 'span', span: span(id, t0) }, t0);
    const serde = traceStateSerde();
    const bytes = serde.serialize(c.state()!)!;
    const stored = JSON.parse(bytes.toString()) as { spanIds: string[] };
    expect(stored.spanIds).toEqual(['00000000000000c2', '00000000000000c1']);
    const restored = serde.deserialize(bytes);
    expect(restored).toEqual(c.state());
    expect(serde.serialize(restored)).toEqual(bytes);
    // A state from before span ids were remembered.
    const { spanIds: _dropped, ...legacy } = stored;
    expect(serde.deserialize(Buffer.from(JSON.stringify(legacy))).spanIds).toEqual(new Set());
    expect(() => serde.deserialize(Buffer.from('42'))).toThrow(/must be a JSON object/);
    c.driver.close();
  });
});
