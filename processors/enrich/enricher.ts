import { SEVERITY } from '../normalize/severity';
import type { Attributes, LogRecord, SpanRecord } from '../records';
import { createErrorClassifier, type ErrorClassifier, type ErrorCodeRule } from './error-codes';

const INPUT_TOKEN_KEYS = [
  'gen_ai.usage.input_tokens',
  'gen_ai.usage.prompt_tokens',
  'llm.usage.prompt_tokens',
  'llm.token_count.prompt',
] as const;
const OUTPUT_TOKEN_KEYS = [
  'gen_ai.usage.output_tokens',
  'gen_ai.usage.completion_tokens',
  'llm.usage.completion_tokens',
  'llm.token_count.completion',
] as const;
const EXPLICIT_CODE_KEYS = ['error_code', 'error.code'] as const;
const TYPE_KEYS = ['exception.type', 'error.type'] as const;
const DIGITS = /^\d+$/;

/** First non-negative integer among `keys` (gen_ai token usage, current then legacy names); 0 when none. */
export function tokenCount(attributes: Attributes, keys: readonly string[]): number {
  for (const key of keys) {
    const v = attributes[key];
    if (v !== undefined && DIGITS.test(v)) {
      const n = Number(v);
      if (Number.isSafeInteger(n)) return n;
    }
  }
  return 0;
}

function firstOf(attributes: Attributes, keys: readonly string[]): string {
  for (const key of keys) {
    const v = attributes[key];
    if (v !== undefined && v !== '') return v;
  }
  return '';
}

function pushIf(list: string[], value: string | undefined): void {
  if (value !== undefined && value !== '') list.push(value);
}

export interface EnrichConfig {
  /** Extra error classification rows, tried before the defaults. */
  errorCodes?: readonly ErrorCodeRule[];
  /** Keep the default rows (TIMEOUT, CONNECTION_REFUSED, PRICE_MISSING, ...); default true. */
  includeDefaultErrorCodes?: boolean;
}

export interface Enricher {
  enrichLog(record: LogRecord): LogRecord;
  enrichSpan(span: SpanRecord): SpanRecord;
}

/**
 * Adds error_code and gen_ai token usage. (Service, env and the other custom attributes are promoted by
 * normalize; span kind and status names too.) Returns the input itself when nothing changes.
 *
 * A log is an error when its severity is ERROR or above, or it carries exception attributes or an explicit
 * error code; a span when its status is Error or it recorded an `exception` event.
 * @throws PatternConfigError when a configured pattern does not compile
 */
export function createEnricher(config: EnrichConfig = {}): Enricher {
  const classify: ErrorClassifier = createErrorClassifier(config.errorCodes, {
    includeDefaults: config.includeDefaultErrorCodes,
  });

  function enrichLog(record: LogRecord): LogRecord {
    const attrs = record.log_attributes;
    const explicit = firstOf(attrs, EXPLICIT_CODE_KEYS);
    const type = firstOf(attrs, TYPE_KEYS);
    const isError =
      record.severity_number >= SEVERITY.ERROR ||
      type !== '' ||
      explicit !== '' ||
      'exception.message' in attrs;
    const errorCode =
      record.error_code !== '' || !isError
        ? record.error_code
        : classify({
            explicit,
            messages: [record.body, attrs['exception.message'] ?? ''].filter((m) => m !== ''),
            types: type === '' ? [] : [type],
          });
    const input = tokenCount(attrs, INPUT_TOKEN_KEYS);
    const output = tokenCount(attrs, OUTPUT_TOKEN_KEYS);
    if (
      errorCode === record.error_code &&
      input === record.gen_ai_input_tokens &&
      output === record.gen_ai_output_tokens
    ) {
      return record;
    }
    return { ...record, error_code: errorCode, gen_ai_input_tokens: input, gen_ai_output_tokens: output };
  }

  function enrichSpan(span: SpanRecord): SpanRecord {
    const attrs = span.span_attributes;
    const exceptions = span.events.filter((e) => e.name === 'exception');
    const isError = span.status_code === 'Error' || exceptions.length > 0;
    let errorCode = span.error_code;
    if (errorCode === '' && isError) {
      const messages: string[] = [];
      const types: string[] = [];
      pushIf(messages, span.status_message);
      pushIf(messages, attrs['exception.message']);
      pushIf(types, firstOf(attrs, TYPE_KEYS));
      for (const e of exceptions) {
        pushIf(messages, e.attributes['exception.message']);
        pushIf(types, e.attributes['exception.type']);
      }
      errorCode = classify({ explicit: firstOf(attrs, EXPLICIT_CODE_KEYS), messages, types });
    }
    const input = tokenCount(attrs, INPUT_TOKEN_KEYS);
    const output = tokenCount(attrs, OUTPUT_TOKEN_KEYS);
    if (
      errorCode === span.error_code &&
      input === span.gen_ai_input_tokens &&
      output === span.gen_ai_output_tokens
    ) {
      return span;
    }
    return { ...span, error_code: errorCode, gen_ai_input_tokens: input, gen_ai_output_tokens: output };
  }

  return { enrichLog, enrichSpan };
}
