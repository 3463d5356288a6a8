import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  alertLogProjection,
  evaluateLog,
  type AlertLog,
  initialAlertState,
  parseAlertRules,
  parseAlertRulesText,
  type AlertRules,
} from '../../processors/alerts';
import {
  addLog,
  addSpan,
  emptyCorrelation,
  toCorrelationLog,
  toCorrelationSpan,
} from '../../processors/correlate';
import { createEnricher } from '../../processors/enrich';
import { normalizeLogs, normalizeOtlpSpans } from '../../processors/normalize';
import { decodeLogsMessage, decodeTracesMessage } from '../../processors/otlp/decode';
import type { Alert, Correlation, LogRecord, SpanRecord } from '../../processors/records';
import { DeserializationError, jsonSerde, type Serde } from '../../topology';
import {
  buildScenario,
  encodeLogs,
  encodeSpans,
  sampleLog,
  sampleSpan,
} from '../../test/support/otlp-fixtures';
import {
  correlationLogSerde,
  correlationSpanSerde,
  INTERNAL_FORMAT_VERSION,
  LOG_RULE_INPUT_FORMAT_VERSION,
  logRuleInputSerde,
} from './internal-serdes';

const enricher = createEnricher();
// Half the traces fail (error spans with exception events, error logs), so the error paths are exercised.
const scenario = buildScenario({ traces: 12, seed: 21, errorRate: 0.5 });
const spans: SpanRecord[] = normalizeOtlpSpans(
  decodeTracesMessage(encodeSpans(scenario.spans)[0]!).request,
).records.map(enricher.enrichSpan);
const logs: LogRecord[] = normalizeLogs(decodeLogsMessage(encodeLogs(scenario.logs)[0]!), {
  topic: 'otel-logs',
  partition: 0,
  offset: '7',
}).records.map(enricher.enrichLog);

/** Serializes and reads back, as a repartition topic does. */
function roundTrip<T>(serde: Serde<T>, value: T): T {
  return serde.deserialize(serde.serialize(value));
}

describe('fixtures', () => {
  it('hold error spans with exception events, roots, error logs and logs without a trace', () => {
    expect(spans.some((s) => s.status_code === 'Error' && s.events.some((e) => e.name === 'exception'))).toBe(
      true,
    );
    expect(spans.some((s) => s.parent_span_id === '')).toBe(true);
    expect(logs.some((l) => l.severity_number >= 17 && l.trace_id !== '')).toBe(true);
  });
});

describe('correlation projections on logs-by-trace and spans-by-trace', () => {
  const logSerde = correlationLogSerde();
  const spanSerde = correlationSpanSerde();

  function correlate(project: boolean): Map<string, Correlation> {
    const byTrace = new Map<string, Correlation>();
    const get = (traceId: string) => byTrace.get(traceId) ?? emptyCorrelation(traceId);
    for (const span of spans) {
      const input = project ? roundTrip(spanSerde, toCorrelationSpan(span)) : span;
      byTrace.set(span.trace_id, addSpan(get(span.trace_id), input));
    }
    for (const log of logs.filter((l) => l.trace_id !== '')) {
      const input = project ? roundTrip(logSerde, toCorrelationLog(log)) : log;
      byTrace.set(log.trace_id, addLog(get(log.trace_id), input));
    }
    return byTrace;
  }

  it('give the same correlation as the full records, for every trace of the scenario', () => {
    const full = correlate(false);
    const projected = correlate(true);
    expect(full.size).toBe(scenario.traces.length);
    expect([...projected.keys()]).toEqual([...full.keys()]);
    for (const [traceId, c] of full) expect(projected.get(traceId)).toEqual(c);
    expect([...full.values()].some((c) => c.first_error_message !== '')).toBe(true);
  });

  it('keep what an error span without status message takes its message from, and nothing else', () => {
    const span = sampleSpan({
      status_code: 'Error',
      status_message: '',
      parent_span_id: '1111111111111111',
      events: [
        { name: 'log', time_unix_nano: '1', attributes: { big: 'x'.repeat(500) } },
        {
          name: 'exception',
          time_unix_nano: '1768473000600000000',
          attributes: { 'exception.message': 'boom', 'exception.stacktrace': 'y'.repeat(2000) },
        },
      ],
    });
    const projected = roundTrip(spanSerde, toCorrelationSpan(span));
    expect(projected.events).toEqual([
      {
        name: 'exception',
        time_unix_nano: '1768473000600000000',
        attributes: { 'exception.message': 'boom' },
      },
    ]);
    const c = emptyCorrelation(span.trace_id);
    expect(addSpan(c, projected)).toEqual(addSpan(c, span));
    // A non-root span that did not fail: neither its name nor its events are read.
    expect(roundTrip(spanSerde, toCorrelationSpan({ ...span, status_code: 'Ok' }))).toMatchObject({
      name: '',
      events: [],
      status_message: '',
    });
  });

  it('are several times smaller than the JSON of the full records', () => {
    const json = jsonSerde<unknown>();
    const bytes = (serde: Serde<unknown>, values: unknown[]) =>
      values.reduce<number>((sum, v) => sum + serde.serialize(v)!.length, 0);
    const logsJson = bytes(
      json,
      logs.map((log) => ({ kind: 'log', log })),
    );
    const logsBinary = bytes(
      logSerde as Serde<unknown>,
      logs.map((log) => toCorrelationLog(log)),
    );
    const spansJson = bytes(
      json,
      spans.map((span) => ({ kind: 'span', span })),
    );
    const spansBinary = bytes(
      spanSerde as Serde<unknown>,
      spans.map((span) => toCorrelationSpan(span)),
    );
    expect(logsBinary * 4).toBeLessThan(logsJson);
    expect(spansBinary * 4).toBeLessThan(spansJson);
  });
});

describe('alert log projection on logs-by-service', () => {
  const serde = logRuleInputSerde();

  function alertsOf(rules: AlertRules, input: readonly LogRecord[], project: boolean) {
    const projection = alertLogProjection(rules);
    let state = initialAlertState();
    const alerts: Alert[] = [];
    for (const log of input) {
      const t = evaluateLog(rules, state, project ? (roundTrip(serde, projection(log)) as AlertLog) : log);
      state = t.state;
      alerts.push(...t.alerts);
    }
    return { state, alerts };
  }

  const shippedRules = parseAlertRulesText(
    readFileSync(join(__dirname, '../../config/alert-rules.json'), 'utf8'),
  );
  /** Rules reading attributes (of the log and of its resource) and the whole body. */
  const attributeRules = parseAlertRules({
    version: 1,
    rules: [
      {
        id: 'design-errors',
        type: 'match',
        when: { min_level: 'error', attributes: { circuit_id: '^CIRCUIT-', 'service.name': 'arda' } },
        alert: { issue_code: 'DESIGN', severity: 'error', message: '{service}: {body}' },
      },
      {
        id: 'deep-body',
        type: 'threshold',
        when: { body: 'needle$' },
        scope: { attributes: { 'deployment.environment.name': 'dev' } },
        metric: 'count',
        above: 0,
        window_seconds: 60,
        alert: { issue_code: 'NEEDLE', severity: 'warn', message: '{value} in {service}: {body}' },
      },
    ],
  });
  const longBody = sampleLog({
    id: 'otel-logs:0:900:0',
    severity_number: 17,
    severity_text: 'ERROR',
    error_code: 'PAYMENT_FAILURE',
    body: `${'é'.repeat(300)} needle`,
    log_attributes: { circuit_id: 'CIRCUIT-7', other: 'z'.repeat(400) },
  });
  const input = [...logs, longBody];

  it.each([
    ['the shipped rules', shippedRules],
    ['rules on attributes and on the whole body', attributeRules],
  ])('gives the same alerts and state as the full logs, with %s', (_name, rules) => {
    const full = alertsOf(rules, input, false);
    expect(full.alerts.length).toBeGreaterThan(0);
    expect(alertsOf(rules, input, true)).toEqual(full);
  });

  it('keeps only the attributes the rules name, and the body whole only when a rule matches on it', () => {
    const shipped = alertLogProjection(shippedRules)(longBody);
    expect(shipped.log_attributes).toEqual({});
    expect(shipped.resource_attributes).toEqual({});
    expect(shipped.body).toHaveLength(201);
    const withAttributes = alertLogProjection(attributeRules)(longBody);
    expect(withAttributes.log_attributes).toEqual({ circuit_id: 'CIRCUIT-7' });
    expect(withAttributes.resource_attributes).toEqual({
      'service.name': 'arda',
      'deployment.environment.name': 'dev',
    });
    expect(withAttributes.body).toBe(longBody.body);
  });
});

describe('format version', () => {
  const serdes: [string, Serde<unknown>, unknown, number][] = [
    [
      'correlation log',
      correlationLogSerde() as Serde<unknown>,
      toCorrelationLog(sampleLog()),
      INTERNAL_FORMAT_VERSION,
    ],
    [
      'correlation span',
      correlationSpanSerde() as Serde<unknown>,
      toCorrelationSpan(sampleSpan()),
      INTERNAL_FORMAT_VERSION,
    ],
    [
      'log rule input',
      logRuleInputSerde() as Serde<unknown>,
      alertLogProjection(parseAlertRules({ version: 1, rules: [] }))(sampleLog()),
      LOG_RULE_INPUT_FORMAT_VERSION,
    ],
    [
      'log rule input',
      logRuleInputSerde() as Serde<unknown>,
      {
        service: 'arda',
        counts: {
          time_ms: 1_700_000_000_123,
          buckets: [{ rule_id: 'r', group: 'service=arda', start_ms: 1_700_000_000_000, count: 7 }],
        },
      },
      LOG_RULE_INPUT_FORMAT_VERSION,
    ],
  ];

  it.each(serdes)('%s: the first byte is the format version', (_what, serde, value, version) => {
    expect(serde.serialize(value)![0]).toBe(version);
  });

  it.each(serdes)(
    '%s: refuses what it cannot read, with a DeserializationError naming why',
    (what, serde, value, version) => {
      const bytes = serde.serialize(value)!;
      const read = (data: Buffer | null) => () => serde.deserialize(data);
      // The JSON the versions before this format wrote.
      expect(read(Buffer.from(JSON.stringify({ kind: 'log', log: sampleLog() })))).toThrow(
        new RegExp(`^${what}: internal format version 123 \\(JSON`),
      );
      expect(read(Buffer.concat([Buffer.from([version + 1]), bytes.subarray(1)]))).toThrow(
        new RegExp(`format version ${version + 1} cannot be read`),
      );
      expect(read(bytes.subarray(0, bytes.length - 3))).toThrow(/truncated|invalid Avro/);
      expect(read(Buffer.concat([bytes, Buffer.from([0])]))).toThrow(/1 bytes after the value/);
      expect(read(null)).toThrow(/empty value/);
      expect(read(Buffer.from([version]))).toThrow(DeserializationError);
      expect(serde.deserialize(bytes)).toEqual(value);
    },
  );

  it('a value too large for the encoding buffer is written whole', () => {
    const serde = correlationLogSerde();
    const log = toCorrelationLog(sampleLog({ severity_number: 17, body: 'b'.repeat(200_000) }));
    expect(roundTrip(serde, log)).toEqual(log);
  });
});
