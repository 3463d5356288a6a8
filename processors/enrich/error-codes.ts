import { PatternConfigError } from '../errors';

/**
 * One row of the error classification table: a record whose message matches `message`, or whose
 * exception/error type matches `exception_type`, gets `code`. Patterns are case-insensitive regex sources.
 * Rows are tried in order; the first match wins.
 */
export interface ErrorCodeRule {
  code: string;
  message?: string;
  exception_type?: string;
}

export const DEFAULT_ERROR_CODE_RULES: readonly ErrorCodeRule[] = [
  {
    code: 'TIMEOUT',
    message: '\\b(timed? ?out|timeout|deadline exceeded|ETIMEDOUT)\\b',
    exception_type: 'timeout',
  },
  {
    code: 'CONNECTION_REFUSED',
    message: 'ECONNREFUSED|connection refused',
    exception_type: 'ConnectionRefused',
  },
  {
    code: 'CONNECTION_RESET',
    message: 'ECONNRESET|connection reset|broken pipe|EPIPE',
    exception_type: 'ConnectionReset',
  },
  {
    code: 'DNS_FAILURE',
    message: 'ENOTFOUND|EAI_AGAIN|getaddrinfo|name or service not known|no such host',
    exception_type: 'UnknownHost|gaierror',
  },
  {
    code: 'PRICE_MISSING',
    message:
      '\\bprice\\b.{0,40}\\b(missing|null|undefined|none|not (found|set|available))|(missing|no) price',
  },
  {
    code: 'PAYMENT_FAILURE',
    message: '\\bpayment\\b.{0,40}\\b(fail|declin|reject|error)|card (was )?declined|insufficient funds',
    exception_type: 'Payment',
  },
  {
    code: 'AUTH_FAILURE',
    message: 'unauthori[sz]ed|authentication failed|invalid (credentials|token)|access denied|forbidden',
    exception_type: 'Auth|PermissionDenied|Forbidden',
  },
  { code: 'RATE_LIMITED', message: 'rate.?limit|too many requests|throttl' },
  {
    code: 'OUT_OF_MEMORY',
    message: 'out of memory|ENOMEM|OOMKilled',
    exception_type: 'MemoryError|OutOfMemory',
  },
  {
    code: 'NULL_REFERENCE',
    message: 'cannot read propert(y|ies) of (undefined|null)|null ?pointer|NoneType',
    exception_type: 'NullPointer|NullReference',
  },
  {
    code: 'DB_ERROR',
    message:
      'deadlock|SQLSTATE|syntax error at or near|duplicate key|relation "?[\\w.]+"? does not exist|too many connections',
    exception_type: 'SQL|Database|OperationalError|IntegrityError',
  },
  { code: 'SERVICE_UNAVAILABLE', message: 'service unavailable|upstream connect error|\\b503\\b' },
];

/** Code for errors no rule classifies and that carry no exception type. */
export const UNKNOWN_ERROR = 'UNKNOWN_ERROR';

export interface ErrorEvidence {
  /** Error code stated by the producer (attribute `error_code` / `error.code`); wins when present. */
  explicit: string;
  /** Messages to match: body, status message, exception.message... */
  messages: readonly string[];
  /** exception.type / error.type values. */
  types: readonly string[];
}

export type ErrorClassifier = (evidence: ErrorEvidence) => string;

interface CompiledRule {
  code: string;
  message: RegExp | undefined;
  type: RegExp | undefined;
}

function compile(source: string | undefined, rule: ErrorCodeRule, field: string): RegExp | undefined {
  if (source === undefined) return undefined;
  try {
    return new RegExp(source, 'i');
  } catch (cause) {
    throw new PatternConfigError(`error code rule "${rule.code}" ${field}: ${(cause as Error).message}`, {
      cause,
    });
  }
}

/** `PaymentError` / `requests.exceptions.ReadTimeout` → `PAYMENT_ERROR` / `READ_TIMEOUT` (last path segment). */
export function codeFromType(type: string): string {
  const last =
    type
      .split(/[.:$]/)
      .filter((s) => s !== '')
      .pop() ?? '';
  return last
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toUpperCase();
}

/**
 * Compiles a classification table: `rules` first (so specific rules override the generic ones), then the
 * defaults unless `includeDefaults` is false.
 * Order of evidence: explicit code, then table rows, then a code derived from the exception type, then
 * UNKNOWN_ERROR. @throws PatternConfigError naming the row whose pattern does not compile.
 */
export function createErrorClassifier(
  rules: readonly ErrorCodeRule[] = [],
  options: { includeDefaults?: boolean } = {},
): ErrorClassifier {
  const table: CompiledRule[] = [
    ...rules,
    ...(options.includeDefaults === false ? [] : DEFAULT_ERROR_CODE_RULES),
  ].map((rule) => ({
    code: rule.code,
    message: compile(rule.message, rule, 'message'),
    type: compile(rule.exception_type, rule, 'exception_type'),
  }));
  return (evidence) => {
    if (evidence.explicit !== '') return evidence.explicit;
    for (const rule of table) {
      if (rule.type !== undefined && evidence.types.some((t) => rule.type!.test(t))) return rule.code;
      if (rule.message !== undefined && evidence.messages.some((m) => rule.message!.test(m)))
        return rule.code;
    }
    for (const type of evidence.types) {
      const code = codeFromType(type);
      if (code !== '') return code;
    }
    return UNKNOWN_ERROR;
  };
}
