import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Message, ProducerRecord, RecordMetadata } from 'kafkajs';
import { createLogger } from '../../common/logger';
import { parseAlertRulesText } from '../../processors';
import { decodeLanded, firedRuleIds, type LandedMessage } from '../../test/support/demo-telemetry';
import { DEMO_PHASES, startDemoProducers, type DemoProducersOptions } from './demo-producers';
import { DemoConfigError } from './errors';
import { SERVICES, WORKFLOWS } from './otlp-scenario';

const topics = { logs: 'demo-logs', traces: 'demo-traces' };
const log = createLogger({ level: 'silent', format: 'json' });
const START = Date.UTC(2026, 5, 1, 12, 0, 0);

interface Sent {
  atMs: number;
  topic: string;
  messages: Message[];
}

/** Stands in for kafkajs' producer.send: records what was sent and when (fake time). */
function fakeProducer(behaviour: (record: ProducerRecord) => Promise<void> = async () => {}) {
  const sent: Sent[] = [];
  let active = 0;
  let maxActive = 0;
  const producer = {
    async send(record: ProducerRecord): Promise<RecordMetadata[]> {
      active++;
      maxActive = Math.max(maxActive, active);
      try {
        await behaviour(record);
      } finally {
        active--;
      }
      sent.push({ atMs: Date.now(), topic: record.topic, messages: record.messages });
      return [];
    },
  };
  return { producer, sent, maxActive: () => maxActive };
}

function landed(sent: readonly Sent[]): LandedMessage[] {
  let offset = 0;
  return sent.flatMap((s) =>
    s.messages.map((m) => ({
      topic: s.topic,
      partition: 0,
      offset: String(offset++),
      key: m.key == null ? null : Buffer.from(m.key),
      value: m.value == null ? null : Buffer.from(m.value),
      headers: (m.headers ?? {}) as LandedMessage['headers'],
    })),
  );
}

function start(overrides: Partial<DemoProducersOptions> & Pick<DemoProducersOptions, 'producer'>) {
  return startDemoProducers({ topics, rate: 10, log, seed: 42, ...overrides });
}

beforeEach(() => {
  jest.useFakeTimers({ now: START });
});

afterEach(() => {
  jest.useRealTimers();
});

describe('demo producers pacing', () => {
  it('generates `rate` traces per second and sends each tick as one batch per topic', async () => {
    const { producer, sent, maxActive } = fakeProducer();
    const demo = start({ producer, rate: 10 });
    await jest.advanceTimersByTimeAsync(10_000);

    // Traces start every 100 ms from the start: 0 ms, 100 ms, ..., 10 000 ms.
    expect(demo.stats().traces).toBe(101);
    expect(demo.stats().skippedTraces).toBe(0);
    const sendsPerTick = new Map<string, number>();
    for (const s of sent) {
      const key = `${s.atMs}:${s.topic}`;
      sendsPerTick.set(key, (sendsPerTick.get(key) ?? 0) + 1);
    }
    expect(Math.max(...sendsPerTick.values())).toBe(1);
    // Ticks every 200 ms: sends happen on that grid only.
    expect(sent.every((s) => (s.atMs - START) % 200 === 0)).toBe(true);
    expect(maxActive()).toBeLessThanOrEqual(2);
    await demo.stop();
  });

  it('sends a record only once its time has passed, like an SDK exporting ended spans', async () => {
    const { producer, sent } = fakeProducer();
    const demo = start({ producer, rate: 20 });
    await jest.advanceTimersByTimeAsync(20_000);
    const beforeStop = sent.length;
    await demo.stop();

    const rootSentAt = new Map<string, number>();
    const lastChildSentAt = new Map<string, number>();
    sent.forEach((s, i) => {
      const { logs, spans } = decodeLanded(landed([s]), topics.logs);
      for (const span of spans) {
        if (i < beforeStop) expect(span.start_ms + span.duration_ms).toBeLessThanOrEqual(s.atMs);
        if (span.parent_span_id === '') rootSentAt.set(span.trace_id, s.atMs);
        else lastChildSentAt.set(span.trace_id, Math.max(s.atMs, lastChildSentAt.get(span.trace_id) ?? 0));
      }
      if (i < beforeStop) for (const l of logs) expect(l.time_ms).toBeLessThanOrEqual(s.atMs);
    });
    // A timed-out request's root span (> 5 s) is exported seconds after its children.
    const late = [...rootSentAt].filter(
      ([traceId, at]) => at - (lastChildSentAt.get(traceId) ?? at) >= 4_500,
    );
    expect(late.length).toBeGreaterThan(0);
    expect(late.length).toBeLessThanOrEqual(demo.stats().failedTraces.TIMEOUT);
  });

  it('skips, and counts, the traces it could not generate while the broker was slow', async () => {
    const { producer } = fakeProducer(() => new Promise((resolve) => setTimeout(resolve, 3_000)));
    const demo = start({ producer, rate: 50 });
    await jest.advanceTimersByTimeAsync(20_000);
    const stats = demo.stats();
    expect(stats.skippedTraces).toBeGreaterThan(0);
    // Every scheduled start (every 20 ms) up to the last tick was either generated or skipped.
    expect(stats.traces + stats.skippedTraces).toBeLessThanOrEqual(20_000 / 20 + 1);
    expect(stats.traces).toBeLessThanOrEqual(50 * 8);
    const stopped = demo.stop();
    await jest.advanceTimersByTimeAsync(10_000);
    await stopped;
  });

  it('keeps each send under 512 KiB at high rates, splitting batches into several messages', async () => {
    const { producer, sent } = fakeProducer();
    const demo = start({
      producer,
      rate: 2000,
      encodingMix: { otlpJsonShare: 1 },
      maxRecordsPerMessage: 500,
    });
    await jest.advanceTimersByTimeAsync(2_000);
    await demo.stop();
    const bytes = (s: Sent) => s.messages.reduce((sum, m) => sum + (m.value as Buffer).length, 0);
    expect(sent.filter((s) => s.messages.length > 1).length).toBeGreaterThan(0);
    expect(sent.every((s) => s.messages.length === 1 || bytes(s) <= 512 * 1024)).toBe(true);
    const { spans } = decodeLanded(landed(sent), topics.logs);
    expect(spans).toHaveLength(demo.stats().traces * 5);
  });

  it('drops and counts a batch the broker rejects, and keeps going', async () => {
    let fail = true;
    const { producer, sent } = fakeProducer(async () => {
      if (fail) throw new Error('broker unavailable');
    });
    const demo = start({ producer });
    await jest.advanceTimersByTimeAsync(2_000);
    expect(demo.stats().sendErrors).toBeGreaterThan(0);
    expect(demo.stats().droppedRecords).toBeGreaterThan(0);
    expect(sent).toHaveLength(0);
    fail = false;
    await jest.advanceTimersByTimeAsync(2_000);
    expect(sent.length).toBeGreaterThan(0);
    await demo.stop();
  });

  it('stops cleanly: pending records are flushed, nothing is sent afterwards, stop is idempotent', async () => {
    const { producer, sent } = fakeProducer();
    const demo = start({ producer });
    await jest.advanceTimersByTimeAsync(3_000);
    await Promise.all([demo.stop(), demo.stop()]);
    const stats = demo.stats();
    expect(stats.pendingRecords).toBe(0);
    const count = sent.length;
    await jest.advanceTimersByTimeAsync(5_000);
    expect(sent).toHaveLength(count);
    expect(jest.getTimerCount()).toBe(0);
    expect(stats.sent.spans).toBe(stats.traces * 5);
  });

  it.each([
    [{ rate: 0 }, 'rate'],
    [{ rate: Number.NaN }, 'rate'],
    [{ rate: 1e6 }, 'rate'],
    [{ encodingMix: { otlpJsonShare: 1.5 } }, 'encodingMix.otlpJsonShare'],
    [{ phases: [] }, 'phases'],
    [
      { phases: [{ name: 'x', durationMs: 1000, errorRate: 0.5, failureWeights: {} }] },
      'phases.0.failureWeights',
    ],
  ] as const)('rejects invalid options %j', (overrides, path) => {
    const { producer } = fakeProducer();
    expect(() => start({ producer, ...(overrides as Partial<DemoProducersOptions>) })).toThrow(
      DemoConfigError,
    );
    expect(() => start({ producer, ...(overrides as Partial<DemoProducersOptions>) })).toThrow(path);
  });
});

describe('demo producers output', () => {
  const rules = parseAlertRulesText(readFileSync(join(__dirname, '../../config/alert-rules.json'), 'utf8'));
  let messages: LandedMessage[];
  let stats: ReturnType<ReturnType<typeof startDemoProducers>['stats']>;

  beforeEach(async () => {
    const { producer, sent } = fakeProducer();
    const demo = start({ producer, rate: 20 });
    await jest.advanceTimersByTimeAsync(30_000);
    await demo.stop();
    messages = landed(sent);
    stats = demo.stats();
  });

  it('writes like the Collector: no keys, no content-type on OTLP, JSON records declared', () => {
    expect(messages.every((m) => m.key === null)).toBe(true);
    const { logs } = decodeLanded(messages, topics.logs);
    const jsonLogIds = new Set(logs.filter((l) => l.source === 'json_log').map((l) => l.id.split(':')[2]));
    for (const m of messages) {
      if (jsonLogIds.has(m.offset)) expect(m.headers).toEqual({ 'content-type': 'application/json' });
      else expect(m.headers).toEqual({});
    }
    expect(stats.sent.messages.json_log).toBe(jsonLogIds.size);
  });

  it('mixes encodings: mostly otlp_proto, some otlp_json, some single JSON log records', () => {
    const { logs, spans } = decodeLanded(messages, topics.logs);
    const sources = new Set(logs.map((l) => l.source));
    expect(sources).toEqual(new Set(['otlp_proto', 'otlp_json', 'json_log']));
    const { otlp_proto, otlp_json, json_log } = stats.sent.messages;
    expect(otlp_proto).toBeGreaterThan(otlp_json);
    expect(otlp_json).toBeGreaterThan(0);
    expect(json_log).toBeGreaterThan(0);
    expect(messages).toHaveLength(otlp_proto + otlp_json + json_log);
    expect(spans).toHaveLength(stats.sent.spans);
    expect(logs).toHaveLength(stats.sent.otlpLogs + stats.sent.jsonLogs);
  });

  it('covers the seeds: three services, three workflows, complete traces', () => {
    const { logs, spans } = decodeLanded(messages, topics.logs);
    expect(new Set(spans.map((s) => s.service))).toEqual(new Set(SERVICES));
    expect(new Set(logs.map((l) => l.service))).toEqual(new Set(SERVICES));
    expect(new Set(logs.map((l) => l.workflow_id))).toEqual(new Set(WORKFLOWS));
    expect(logs.every((l) => l.env === 'demo' && l.request_id !== '' && l.circuit_id !== '')).toBe(true);
    const spansPerTrace = new Map<string, number>();
    for (const s of spans) spansPerTrace.set(s.trace_id, (spansPerTrace.get(s.trace_id) ?? 0) + 1);
    expect(spansPerTrace.size).toBe(stats.traces);
    expect([...spansPerTrace.values()].every((n) => n === 5)).toBe(true);
  });

  it('fails some traces, firing every default alert rule', () => {
    const telemetry = decodeLanded(messages, topics.logs);
    expect(stats.phase).toBe(DEMO_PHASES[0]!.name);
    expect(Object.values(stats.failedTraces).every((n) => n > 0)).toBe(true);
    const codes = new Set(telemetry.logs.map((l) => l.error_code).filter((c) => c !== ''));
    expect(codes).toEqual(new Set(['PAYMENT_FAILURE', 'PRICE_MISSING', 'TIMEOUT']));
    expect(firedRuleIds(telemetry, rules)).toEqual(new Set(rules.byId.keys()));
  });
});
