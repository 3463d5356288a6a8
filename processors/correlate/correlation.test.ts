import {
  buildScenario,
  encodeLogs,
  encodeSpans,
  sampleLog,
  sampleSpan,
  seededRandom,
} from '../../test/support/otlp-fixtures';
import { createEnricher } from '../enrich';
import { CorrelationMismatchError } from '../errors';
import { decodeLogsMessage, decodeTracesMessage } from '../otlp/decode';
import { normalizeLogs, normalizeOtlpSpans } from '../normalize';
import {
  MAX_CORRELATION_LOG_IDS,
  MAX_CORRELATION_SERVICE_BYTES,
  MAX_CORRELATION_SERVICES,
  type Correlation,
  type LogRecord,
  type SpanRecord,
} from '../records';
import { addLog, addSpan, emptyCorrelation, mergeCorrelations } from './correlation';

const enricher = createEnricher();
const scenario = buildScenario({ traces: 4, seed: 9, errorRate: 1 });
const spans = normalizeOtlpSpans(decodeTracesMessage(encodeSpans(scenario.spans)[0]!).request).records.map(
  enricher.enrichSpan,
);
const logs = normalizeLogs(decodeLogsMessage(encodeLogs(scenario.logs)[0]!), {
  topic: 'otel-logs',
  partition: 0,
  offset: '7',
}).records.map(enricher.enrichLog);

type Item = { span: SpanRecord } | { log: LogRecord };
const fold = (traceId: string, items: readonly Item[]): Correlation =>
  items.reduce(
    (c, item) => ('span' in item ? addSpan(c, item.span) : addLog(c, item.log)),
    emptyCorrelation(traceId),
  );

function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('correlate a fixture trace', () => {
  const trace = scenario.traces.find((t) => t.failure === 'PAYMENT_FAILURE') ?? scenario.traces[0]!;
  const items: Item[] = [
    ...spans.filter((s) => s.trace_id === trace.traceId).map((span) => ({ span })),
    ...logs.filter((l) => l.trace_id === trace.traceId).map((log) => ({ log })),
  ];
  const c = fold(trace.traceId, items);

  it('summarizes spans and logs', () => {
    expect(c).toMatchObject({
      trace_id: trace.traceId,
      root_span_name: 'POST /api/v1/design',
      root_service: 'arda',
      services: ['arda', 'beorn', 'palantir'],
      span_count: trace.spanCount,
      log_count: trace.logCount,
      duration_ms: trace.durationMs,
      version: trace.spanCount + trace.logCount,
    });
    expect(c.error_count).toBe(2); // the error span and the ERROR log
    expect(c.log_counts.error).toBe(1);
    expect(c.first_error_code).toBe(trace.failure);
    expect(c.first_error_message).not.toBe('');
    expect(c.gen_ai_input_tokens).toBeGreaterThan(0);
    expect(c.log_ids).toEqual(items.flatMap((i) => ('log' in i ? [i.log.id] : [])).sort());
  });

  it('does not depend on arrival order or on how partial results are merged', () => {
    const random = seededRandom(3);
    for (let round = 0; round < 20; round++) {
      const shuffled = shuffle(items, random);
      expect(fold(trace.traceId, shuffled)).toEqual(c);
      const cut = 1 + Math.floor(random() * (shuffled.length - 1));
      const left = fold(trace.traceId, shuffled.slice(0, cut));
      const right = fold(trace.traceId, shuffled.slice(cut));
      expect(mergeCorrelations(left, right)).toEqual(c);
      expect(mergeCorrelations(right, left)).toEqual(c);
    }
    expect(mergeCorrelations(c, emptyCorrelation(trace.traceId))).toEqual(c);
  });

  it('does not mutate its inputs', () => {
    const empty = emptyCorrelation(trace.traceId);
    const snapshot = JSON.stringify(empty);
    addLog(addSpan(empty, spans[0]!), logs[0]!);
    expect(JSON.stringify(empty)).toBe(snapshot);
  });
});

describe('correlation details', () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';

  it('ignores a replayed log', () => {
    const log = sampleLog();
    const once = addLog(emptyCorrelation(traceId), log);
    expect(addLog(once, log)).toBe(once);
  });

  it(`keeps at most ${MAX_CORRELATION_LOG_IDS} log ids, the smallest, and counts the rest`, () => {
    let c = emptyCorrelation(traceId);
    for (let i = 1004; i >= 0; i--)
      c = addLog(c, sampleLog({ id: `otel-logs:0:${String(i).padStart(5, '0')}:0` }));
    expect(c.log_count).toBe(1005);
    expect(c.log_ids).toHaveLength(MAX_CORRELATION_LOG_IDS);
    expect(c.log_ids[0]).toBe('otel-logs:0:00000:0');
    expect(c.log_ids.at(-1)).toBe('otel-logs:0:00999:0');
    expect(c.log_ids_dropped).toBe(5);
  });

  it('keeps the smallest service names, leaving out overlong ones, whatever the order', () => {
    // Names up to the attribute value bound (16 KiB) and more names than the count bound.
    const long = Array.from(
      { length: 8 },
      (_, i) => `${String.fromCharCode(97 + i)}${'x'.repeat(16 * 1024)}`,
    );
    const short = Array.from({ length: 400 }, (_, i) => `s${String(i).padStart(3, '0')}`);
    const logs = [...long, ...short].map((service, i) =>
      sampleLog({ id: `otel-logs:0:${String(i).padStart(5, '0')}:0`, service }),
    );
    const forward = logs.reduce((c, log) => addLog(c, log), emptyCorrelation(traceId));
    const backward = [...logs].reverse().reduce((c, log) => addLog(c, log), emptyCorrelation(traceId));
    const halves = mergeCorrelations(
      logs.filter((_, i) => i % 2 === 0).reduce((c, log) => addLog(c, log), emptyCorrelation(traceId)),
      logs.filter((_, i) => i % 2 === 1).reduce((c, log) => addLog(c, log), emptyCorrelation(traceId)),
    );
    expect(forward.services).toEqual(short.slice(0, MAX_CORRELATION_SERVICES));
    expect(backward.services).toEqual(forward.services);
    expect(halves.services).toEqual(forward.services);
    expect(long.every((name) => Buffer.byteLength(name) > MAX_CORRELATION_SERVICE_BYTES)).toBe(true);
  });

  it('picks the earliest error, and the smallest span id among several roots', () => {
    const late = sampleLog({
      id: 'a',
      severity_number: 17,
      body: 'late',
      error_code: 'B',
      time_unix_nano: '2000',
    });
    const early = sampleSpan({
      span_id: 'bbbbbbbbbbbbbbbb',
      status_code: 'Error',
      status_message: 'early',
      error_code: 'A',
      end_time_unix_nano: '1000',
    });
    const otherRoot = sampleSpan({ span_id: 'aaaaaaaaaaaaaaaa', name: 'other root', service: 'beorn' });
    const c = addSpan(addSpan(addLog(emptyCorrelation(traceId), late), early), otherRoot);
    expect(c).toMatchObject({
      first_error_message: 'early',
      first_error_code: 'A',
      first_error_time_unix_nano: '1000',
    });
    expect(c).toMatchObject({
      root_span_id: 'aaaaaaaaaaaaaaaa',
      root_span_name: 'other root',
      root_service: 'beorn',
    });
  });

  it('refuses to merge different traces', () => {
    expect(() => mergeCorrelations(emptyCorrelation('a'), emptyCorrelation('b'))).toThrow(
      CorrelationMismatchError,
    );
  });
});
