import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';
import { buildScenario, encodeLogs, encodeSpans } from '../../test/support/otlp-fixtures';
import { evaluateLog, initialAlertState, parseAlertRulesText } from '../alerts';
import { createEnricher } from '../enrich';
import { logContractJsonSchema } from '../json-log/contract';
import { normalizeLogs, normalizeOtlpSpans } from '../normalize';
import { decodeLogsMessage, decodeTracesMessage } from '../otlp/decode';
import { createRedactor } from '../redact';
import {
  ALERT_SCHEMA,
  alertType,
  ENRICHED_LOG_SCHEMA,
  ENRICHED_SPAN_SCHEMA,
  enrichedLogType,
  enrichedSpanType,
} from './schemas';

const schemasDir = join(__dirname, '../../schemas');
const readJson = (file: string): unknown => JSON.parse(readFileSync(join(schemasDir, file), 'utf8'));

/** Plain-object copy (records use prototype-less attribute maps; equality should not care). */
const plain = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

const enricher = createEnricher();
const redactor = createRedactor();
const scenario = buildScenario({ traces: 3, seed: 21, errorRate: 1 });
const logs = normalizeLogs(decodeLogsMessage(encodeLogs(scenario.logs)[0]!), {
  topic: 'otel-logs',
  partition: 1,
  offset: '9',
}).records.map((r) => enricher.enrichLog(redactor.redactLog(r).record));
const spans = normalizeOtlpSpans(decodeTracesMessage(encodeSpans(scenario.spans)[0]!).request).records.map(
  (s) => enricher.enrichSpan(redactor.redactSpan(s).record),
);

describe('schema files', () => {
  it.each([
    ['enriched-log.avsc', ENRICHED_LOG_SCHEMA],
    ['enriched-span.avsc', ENRICHED_SPAN_SCHEMA],
    ['alert.avsc', ALERT_SCHEMA],
  ])('%s is the JSON of the schema in code', (file, schema) => {
    expect(readJson(file)).toEqual(plain(schema));
    expect(() => avro.Type.forSchema(readJson(file) as avro.Schema)).not.toThrow();
  });

  it('log-record.schema.json is the JSON Schema generated from the zod contract', () => {
    expect(readJson('log-record.schema.json')).toEqual(logContractJsonSchema());
  });
});

describe('Avro round trips', () => {
  it('enriched logs', () => {
    expect(logs.length).toBeGreaterThan(0);
    for (const log of logs) {
      expect(enrichedLogType.isValid(log)).toBe(true);
      expect(plain(enrichedLogType.fromBuffer(enrichedLogType.toBuffer(log)))).toEqual(plain(log));
    }
    expect(logs.some((l) => l.error_code !== '')).toBe(true);
  });

  it('enriched spans, with events', () => {
    expect(spans.some((s) => s.events.length > 0)).toBe(true);
    for (const span of spans) {
      expect(plain(enrichedSpanType.fromBuffer(enrichedSpanType.toBuffer(span)))).toEqual(plain(span));
    }
  });

  it('alerts, with and without nullable fields', () => {
    const rules = parseAlertRulesText(readFileSync(join(__dirname, '../../config/alert-rules.json'), 'utf8'));
    let state = initialAlertState();
    const alerts = logs.flatMap((log) => {
      const t = evaluateLog(rules, state, log);
      state = t.state;
      return t.alerts;
    });
    expect(alerts.some((a) => a.automation_action === null)).toBe(true);
    expect(alerts.some((a) => a.automation_action !== null)).toBe(true);
    for (const alert of alerts) {
      expect(alertType.fromBuffer(alertType.toBuffer(alert))).toEqual(alert);
    }
  });

  it('rejects a record that does not fit', () => {
    expect(alertType.isValid({ id: 'x' })).toBe(false);
    expect(enrichedLogType.isValid({ ...logs[0]!, time_ms: 'soon' })).toBe(false);
  });
});
