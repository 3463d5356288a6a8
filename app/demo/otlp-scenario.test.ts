import type { HrTime } from '@opentelemetry/api';
import { buildScenario, createScenarioGenerator, DEFAULT_START_MS, WORKFLOWS } from './otlp-scenario';

const hrTimeToMilliseconds = ([seconds, nanos]: HrTime) => seconds * 1000 + nanos / 1e6;
const firstSpanStartMs = (spans: ReturnType<typeof buildScenario>['spans']) =>
  Math.min(...spans.map((s) => hrTimeToMilliseconds(s.startTime)));

describe('buildScenario', () => {
  it('uses a fixed base time by default, so tests see the same times on every run', () => {
    const scenario = buildScenario({ traces: 3, seed: 4 });
    expect(firstSpanStartMs(scenario.spans)).toBe(DEFAULT_START_MS);
    expect(scenario.traces.map((t) => t.startMs)).toEqual([0, 250, 500].map((d) => DEFAULT_START_MS + d));
    expect(buildScenario({ traces: 3, seed: 4 }).traces).toEqual(scenario.traces);
  });

  it('starts at the given base time (the demo passes the current time)', () => {
    const now = Date.UTC(2027, 2, 3, 4, 5, 6);
    const scenario = buildScenario({ traces: 2, seed: 4, startMs: now, intervalMs: 100 });
    expect(firstSpanStartMs(scenario.spans)).toBe(now);
    const logTimes = scenario.logs.map((l) => hrTimeToMilliseconds(l.hrTime));
    expect(Math.min(...logTimes)).toBe(now + 1);
    expect(scenario.traces.map((t) => t.startMs)).toEqual([now, now + 100]);
  });

  it('draws failures from the given weights', () => {
    const scenario = buildScenario({
      traces: 30,
      errorRate: 1,
      failureWeights: { PRICE_MISSING: 1 },
    });
    expect(new Set(scenario.traces.map((t) => t.failure))).toEqual(new Set(['PRICE_MISSING']));
  });
});

describe('createScenarioGenerator', () => {
  it("logs a phase's cause at ERROR before each failure of its kind, and only then", () => {
    const generator = createScenarioGenerator({ seed: 3 });
    const cause = { failure: 'PRICE_MISSING' as const, message: 'replica {n} unreachable' };
    const batch = generator.generate({
      traces: 20,
      startMs: DEFAULT_START_MS,
      intervalMs: 10,
      errorRate: 1,
      failureWeights: { PRICE_MISSING: 1, TIMEOUT: 1 },
      cause,
    });
    const causes = batch.logs.filter((l) => String(l.body).startsWith('replica '));
    const priceMissing = batch.traces.filter((t) => t.failure === 'PRICE_MISSING').length;
    expect(priceMissing).toBeGreaterThan(0);
    expect(causes).toHaveLength(priceMissing);
    expect(
      causes.every((l) => l.severityText === 'ERROR' && /^replica [1-3] unreachable$/.test(String(l.body))),
    ).toBe(true);
  });

  it('continues request numbering and ids across batches and hands out each batch once', () => {
    const generator = createScenarioGenerator({ seed: 3 });
    const a = generator.generate({ traces: 4, startMs: 1_000_000, intervalMs: 10 });
    const b = generator.generate({ traces: 4, startMs: 2_000_000, intervalMs: 10 });
    expect(a.spans).toHaveLength(20);
    expect(b.spans).toHaveLength(20);
    const traceIds = [...a.traces, ...b.traces].map((t) => t.traceId);
    expect(new Set(traceIds).size).toBe(8);
    expect(new Set(b.spans.map((s) => s.spanContext().traceId))).toEqual(
      new Set(b.traces.map((t) => t.traceId)),
    );
    expect(b.traces.map((t) => t.attributes.request_id)).toEqual([
      'req-00000004',
      'req-00000005',
      'req-00000006',
      'req-00000007',
    ]);
    expect(b.traces.map((t) => t.workflowId)).toEqual([
      WORKFLOWS[1],
      WORKFLOWS[2],
      WORKFLOWS[0],
      WORKFLOWS[1],
    ]);
  });

  it('reports each service span id of a trace', () => {
    const { spans, traces } = createScenarioGenerator().generate({ traces: 1, startMs: 0, intervalMs: 1 });
    const trace = traces[0]!;
    for (const [service, spanId] of Object.entries(trace.spanIds)) {
      const span = spans.find((s) => s.spanContext().spanId === spanId)!;
      expect(span.resource.attributes['service.name']).toBe(service);
      expect(span.kind).toBe(1); // SpanKind.SERVER
    }
  });

  it('adds spans, logs and attributes to every trace as its shape asks', () => {
    const generate = (shape?: {
      spansPerTrace?: number;
      logsPerSpan?: number;
      attributes?: Record<string, string>;
    }) =>
      createScenarioGenerator({ seed: 5 }).generate({
        traces: 3,
        startMs: 0,
        intervalMs: 1,
        errorRate: 0,
        shape,
      });
    const plain = generate();
    const shaped = generate({ spansPerTrace: 8, logsPerSpan: 2, attributes: { 'bench.attr.0': 'x' } });
    expect(shaped.spans).toHaveLength(3 * 8);
    expect(shaped.traces.map((t) => t.spanCount)).toEqual([8, 8, 8]);
    // Each of the 8 spans gets 2 DEBUG logs besides the request's own.
    expect(shaped.logs).toHaveLength(plain.logs.length + 3 * 8 * 2);
    expect(shaped.traces.map((t) => t.logCount)).toEqual(plain.traces.map((t) => t.logCount + 16));
    const spanIds = new Set(shaped.spans.map((s) => s.spanContext().spanId));
    for (const log of shaped.logs) {
      expect(spanIds.has(log.spanContext!.spanId)).toBe(true);
      expect(log.attributes['bench.attr.0']).toBe('x');
    }
    for (const span of shaped.spans) expect(span.attributes['bench.attr.0']).toBe('x');
    // The custom attributes keep their values whatever the extra ones are called.
    expect(shaped.traces.map((t) => t.attributes)).toEqual(plain.traces.map((t) => t.attributes));
  });
});
