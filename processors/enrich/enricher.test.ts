import { sampleLog, sampleSpan } from '../../test/support/otlp-fixtures';
import { PatternConfigError } from '../errors';
import { createEnricher } from './enricher';
import { codeFromType, createErrorClassifier, UNKNOWN_ERROR } from './error-codes';

const enricher = createEnricher();
const errorLog = (body: string, attrs: Record<string, string> = {}) =>
  enricher.enrichLog(sampleLog({ severity_number: 17, severity_text: 'ERROR', body, log_attributes: attrs }));

describe('error classification of logs', () => {
  it.each([
    ['Upstream inventory call timed out after 5000ms', 'TIMEOUT'],
    ['connect ECONNREFUSED 127.0.0.1:5432', 'CONNECTION_REFUSED'],
    ['Product price is null or missing', 'PRICE_MISSING'],
    ['Payment failed: card declined by issuer', 'PAYMENT_FAILURE'],
    ['429 Too Many Requests', 'RATE_LIMITED'],
    ["TypeError: Cannot read properties of undefined (reading 'id')", 'NULL_REFERENCE'],
    ['ERROR: deadlock detected SQLSTATE 40P01', 'DB_ERROR'],
    ['something odd happened', UNKNOWN_ERROR],
  ])('%s → %s', (body, code) => {
    expect(errorLog(body).error_code).toBe(code);
  });

  it('prefers an explicit error_code, then exception.type rules, then a code derived from the type', () => {
    expect(errorLog('timed out', { error_code: 'PAYMENT_FAILURE' }).error_code).toBe('PAYMENT_FAILURE');
    expect(errorLog('boom', { 'exception.type': 'requests.exceptions.ReadTimeout' }).error_code).toBe(
      'TIMEOUT',
    );
    expect(errorLog('boom', { 'exception.type': 'InventoryGoneError' }).error_code).toBe(
      'INVENTORY_GONE_ERROR',
    );
  });

  it('classifies non-error logs only when they carry error evidence', () => {
    const info = sampleLog({ body: 'request timed out, retrying' });
    expect(enricher.enrichLog(info)).toBe(info);
    const warnWithException = sampleLog({
      severity_number: 13,
      log_attributes: { 'exception.type': 'TimeoutError', 'exception.message': 'deadline exceeded' },
    });
    expect(enricher.enrichLog(warnWithException).error_code).toBe('TIMEOUT');
  });

  it('keeps an error_code already set', () => {
    const log = sampleLog({ severity_number: 17, error_code: 'CUSTOM', body: 'timed out' });
    expect(enricher.enrichLog(log)).toBe(log);
  });
});

describe('error classification of spans', () => {
  it('uses status message and exception events', () => {
    const span = sampleSpan({
      status_code: 'Error',
      status_message: '',
      events: [
        {
          name: 'exception',
          time_unix_nano: '1',
          attributes: {
            'exception.type': 'ValueError',
            'exception.message': 'Product price is null or missing',
          },
        },
      ],
    });
    expect(enricher.enrichSpan(span).error_code).toBe('PRICE_MISSING');
    expect(
      enricher.enrichSpan(sampleSpan({ status_code: 'Error', status_message: 'connection refused' }))
        .error_code,
    ).toBe('CONNECTION_REFUSED');
  });

  it('leaves healthy spans untouched', () => {
    const span = sampleSpan({ status_message: 'timeout' });
    expect(enricher.enrichSpan(span)).toBe(span);
  });
});

describe('gen_ai token usage', () => {
  it('reads current and legacy attribute names', () => {
    const current = enricher.enrichSpan(
      sampleSpan({
        span_attributes: { 'gen_ai.usage.input_tokens': '120', 'gen_ai.usage.output_tokens': '30' },
      }),
    );
    expect([current.gen_ai_input_tokens, current.gen_ai_output_tokens]).toEqual([120, 30]);
    const legacy = enricher.enrichLog(
      sampleLog({
        log_attributes: { 'gen_ai.usage.prompt_tokens': '7', 'gen_ai.usage.completion_tokens': '3' },
      }),
    );
    expect([legacy.gen_ai_input_tokens, legacy.gen_ai_output_tokens]).toEqual([7, 3]);
  });

  it('ignores values that are not non-negative integers', () => {
    const span = enricher.enrichSpan(sampleSpan({ span_attributes: { 'gen_ai.usage.input_tokens': '-3' } }));
    expect(span.gen_ai_input_tokens).toBe(0);
  });
});

describe('configuration', () => {
  it('custom rows take precedence over defaults; defaults can be dropped', () => {
    const custom = createEnricher({
      errorCodes: [{ code: 'INVENTORY_TIMEOUT', message: 'inventory.*timed out' }],
    });
    const log = sampleLog({ severity_number: 17, body: 'inventory call timed out' });
    expect(custom.enrichLog(log).error_code).toBe('INVENTORY_TIMEOUT');
    const bare = createErrorClassifier([], { includeDefaults: false });
    expect(bare({ explicit: '', messages: ['timed out'], types: [] })).toBe(UNKNOWN_ERROR);
  });

  it('names the row with a bad pattern', () => {
    expect(() => createEnricher({ errorCodes: [{ code: 'BAD', message: '[' }] })).toThrow(PatternConfigError);
    expect(() => createEnricher({ errorCodes: [{ code: 'BAD', message: '[' }] })).toThrow(/"BAD" message/);
  });

  it('derives codes from type names', () => {
    expect(codeFromType('java.net.UnknownHostException')).toBe('UNKNOWN_HOST_EXCEPTION');
    expect(codeFromType('PaymentError')).toBe('PAYMENT_ERROR');
  });
});
