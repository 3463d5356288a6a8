import { sampleLog, sampleSpan } from '../../test/support/otlp-fixtures';
import { MAX_CORRELATION_SERVICE_BYTES } from '../records';
import { toCorrelationLog, toCorrelationSpan } from './correlation';
import { logPart, spanPart } from './part';

describe('correlation parts', () => {
  it('makes a log its part: its level, and as an error its time, body and code', () => {
    const info = logPart(toCorrelationLog(sampleLog()));
    expect(info).toMatchObject({
      kind: 'log',
      record_id: 'otel-logs:0:42:0',
      start_time_unix_nano: '1768473000531000000',
      end_time_unix_nano: '1768473000531000000',
      level: 'info',
      is_error: false,
      error_time_unix_nano: '0',
      error_message: '',
      is_root: false,
    });
    const error = logPart(
      sampleLog({ severity_number: 17, body: 'declined', error_code: 'PAYMENT_FAILURE' }),
    );
    expect(error).toMatchObject({
      level: 'error',
      is_error: true,
      error_time_unix_nano: '1768473000531000000',
      error_message: 'declined',
      error_code: 'PAYMENT_FAILURE',
    });
    // The reduced log of the repartition topic gives the same part as the whole record.
    expect(logPart(toCorrelationLog(sampleLog({ severity_number: 17, body: 'declined' })))).toEqual(
      logPart(sampleLog({ severity_number: 17, body: 'declined' })),
    );
  });

  it('makes a span its part: a root with its name, an error from its exception event, its tokens', () => {
    const root = spanPart(toCorrelationSpan(sampleSpan({ gen_ai_input_tokens: 3, gen_ai_output_tokens: 4 })));
    expect(root).toMatchObject({
      kind: 'span',
      record_id: '00f067aa0ba902b7',
      is_root: true,
      root_span_name: 'POST /api/v1/design',
      is_error: false,
      gen_ai_input_tokens: 3,
      gen_ai_output_tokens: 4,
    });
    const failed = spanPart(
      toCorrelationSpan(
        sampleSpan({
          parent_span_id: 'aaaaaaaaaaaaaaaa',
          status_code: 'Error',
          error_code: 'TIMEOUT',
          events: [
            {
              name: 'exception',
              time_unix_nano: '1768473000600000000',
              attributes: { 'exception.message': 'upstream timed out' },
            },
          ],
        }),
      ),
    );
    expect(failed).toMatchObject({
      is_root: false,
      root_span_name: '',
      is_error: true,
      error_time_unix_nano: '1768473000600000000',
      error_message: 'upstream timed out',
      error_code: 'TIMEOUT',
    });
  });

  it('leaves a service name too long for the list out of it, but keeps it as the part service', () => {
    const long = 'x'.repeat(MAX_CORRELATION_SERVICE_BYTES + 1);
    expect(spanPart(toCorrelationSpan(sampleSpan({ service: long })))).toMatchObject({
      service: long,
      service_listed: false,
    });
    expect(spanPart(toCorrelationSpan(sampleSpan({ service: '' }))).service_listed).toBe(false);
    expect(spanPart(toCorrelationSpan(sampleSpan())).service_listed).toBe(true);
  });
});
