import {
  buildScenario,
  contentTypeHeader,
  contractLogMessage,
  encodeLogs,
  encodeSpans,
} from '../test/support/otlp-fixtures';
import { DecodeError } from './errors';
import { createRecordPipeline } from './pipeline';

const position = { topic: 'otel-logs', partition: 0, offset: '100' };

describe('record pipeline', () => {
  const pipeline = createRecordPipeline({ redaction: { keys: ['user_id'] } });
  const scenario = buildScenario({ traces: 5, seed: 2, errorRate: 0.6 });

  it('decodes, normalizes, redacts and enriches a Collector logs batch', () => {
    const [message] = encodeLogs(scenario.logs, { encoding: 'otlp_json' });
    const result = pipeline.logs(message!, contentTypeHeader('otlp_json'), position);
    expect(result.errors).toEqual([]);
    expect(result.records).toHaveLength(scenario.logs.length);
    const debugLogs = result.records.filter((r) => r.severity_text === 'DEBUG');
    expect(debugLogs.every((r) => r.log_attributes.user_id === '[REDACTED]')).toBe(true);
    expect(result.redacted).toBe(debugLogs.length);
    const failures = scenario.traces
      .filter((t) => t.failure !== null)
      .map((t) => t.failure)
      .sort();
    expect(
      result.records
        .filter((r) => r.severity_number >= 17)
        .map((r) => r.error_code)
        .sort(),
    ).toEqual(failures);
  });

  it('processes spans, classifying failed ones and reading token usage', () => {
    const result = pipeline.spans(encodeSpans(scenario.spans)[0]!, undefined);
    expect(result.records).toHaveLength(scenario.spans.length);
    expect(result.records.filter((s) => s.status_code === 'Error').every((s) => s.error_code !== '')).toBe(
      true,
    );
    expect(result.records.filter((s) => s.gen_ai_input_tokens > 0)).toHaveLength(scenario.traces.length);
  });

  it('handles contract JSON logs and rejects undecodable messages with DecodeError', () => {
    const result = pipeline.logs(
      contractLogMessage({ message: 'card 4111 1111 1111 1111 declined' }),
      undefined,
      position,
    );
    expect(result.records[0]).toMatchObject({
      error_code: 'PAYMENT_FAILURE',
      body: 'card [REDACTED:credit_card] declined',
    });
    expect(() => pipeline.logs(Buffer.from('not otlp'), undefined, position)).toThrow(DecodeError);
  });
});
