import { PatternConfigError } from '../errors';
import type { Attributes, CustomAttributes, LogRecord, SpanRecord } from '../records';
import { CUSTOM_ATTRIBUTE_KEYS } from '../records';
import { emptyAttributes } from '../otlp/values';
import { luhnValid } from './luhn';

export const REDACTED = '[REDACTED]';

/**
 * Keys whose values are always redacted. A key matches when its words (split on `.`, `_`, `-`, spaces and
 * camelCase) contain the words of one of these, in order: `db.password`, `x-api-key`, `accessToken` and
 * `http.request.header.authorization` match; `gen_ai.usage.input_tokens` does not (`tokens` ≠ `token`).
 */
export const DEFAULT_SENSITIVE_KEYS: readonly string[] = [
  'password',
  'passwd',
  'pwd',
  'token',
  'api_key',
  'apikey',
  'secret',
  'authorization',
  'cookie',
  'credit_card',
  'card_number',
  'ssn',
  'private_key',
];

/**
 * Words that make a key describe a secret rather than hold one (`token_count`, `token_type`,
 * `password_expires`), so its value is left alone.
 */
const DESCRIPTIVE_WORDS = new Set(['count', 'usage', 'type', 'expires', 'expiry', 'ttl', 'length', 'limit']);

export interface RedactionPattern {
  /** Appears in the replacement: `[REDACTED:<name>]`. */
  name: string;
  /** JavaScript regular expression source. */
  pattern: string;
  /** Regex flags; `g` is always added. */
  flags?: string;
}

export interface RedactionConfig {
  /** Extra sensitive keys, matched like DEFAULT_SENSITIVE_KEYS. */
  keys?: readonly string[];
  /**
   * Extra value patterns, applied after the built-in credit card / SSN / email / bearer detectors. They
   * cannot be proven linear, so the input length cap below is what bounds their cost.
   */
  patterns?: readonly RedactionPattern[];
  /** Longest text scanned, in UTF-16 code units (see redactText); default DEFAULT_REDACT_MAX_INPUT_CHARS. */
  maxInputChars?: number;
}

/**
 * Default of REDACT_MAX_INPUT_CHARS: 256 Ki code units, the default body bound of normalization
 * (RECORD_MAX_BODY_BYTES counts at least one byte per code unit), so the pipeline's bounded records are
 * always scanned whole and the cap only cuts unnormalized text, such as the archive's OTLP/JSON.
 */
export const DEFAULT_REDACT_MAX_INPUT_CHARS = 262_144;

/**
 * How far back from the cap the cut moves to the last whitespace, so that no token is split and half
 * of it kept unscanned: longer than every built-in detector's match but an e-mail address (254 at most).
 */
const CUT_LOOKBACK = 256;

/** Keys longer than this are judged but not remembered, so the verdict cache stays small. */
const CACHED_KEY_LIMIT = 256;
/**
 * Attribute values up to this length have their redaction remembered: most repeat from record to
 * record (methods, routes, status codes, host and pod names), and the detectors cost ~1 µs a value.
 */
const CACHED_TEXT_LIMIT = 256;

export interface Redacted<T> {
  /** The input itself when nothing was redacted, else a copy (inputs are never mutated). */
  record: T;
  /** Number of values replaced (also added to `record.redacted_count`). */
  count: number;
}

export interface Redactor {
  /** Whether a key names a secret, so its value is replaced whatever it is (see DEFAULT_SENSITIVE_KEYS). */
  isSensitiveKey(key: string): boolean;
  redactText(text: string): { value: string; count: number };
  /** The rule for one attribute value: all of it under a sensitive key, else its free-text secrets. */
  redactAttribute(key: string, value: string): { value: string; count: number };
  redactAttributes(attributes: Attributes): { value: Attributes; count: number };
  redactLog(record: LogRecord): Redacted<LogRecord>;
  redactSpan(span: SpanRecord): Redacted<SpanRecord>;
}

function words(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w !== '');
}

function containsSequence(haystack: readonly string[], needle: readonly string[]): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

// Value detectors, applied to record data, so each must run in time linear in its input (checked step by
// step in linear-time.test.ts). A match may start only at a token start (a lookbehind or a literal), and
// what follows the start is either of bounded length or scanned once for that start; quantified parts are
// never nested or adjacent over the same characters. The lookarounds also keep matches to whole tokens,
// so digit runs inside UUIDs, trace ids, dates or longer numbers are not candidates.
const CARD =
  /(?<![\w-])(?:\d{4}([ -]?)\d{4}\1\d{4}\1\d{4}(?:\1\d{1,3})?|\d{4}([ -]?)\d{6}\2\d{5}|\d{13,19})(?![\w-])/g;
/** Issuer prefixes of the major card networks (Visa, Mastercard, Amex, Diners, JCB, Discover...). */
const CARD_PREFIX = /^(?:4|5[1-5]|2[2-7]|3[0-9]|6)/;
const SSN = /(?<![\w-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-])/g;
const EMAIL = /(?<![\w.%+-])[\w.%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])/g;
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g;
/**
 * `key=value` / `"key": "value"` inside free text; the key is checked with the key matcher. A key starts
 * after a quote or where no key character precedes it: unanchored, a run of n key characters was tried
 * from each of its n positions, each scanning to its end (quadratic: 80 KB took 22 s). A key may start
 * with `-` or `.` so that `--password=x` still matches from the run's start.
 */
const KEY_VALUE =
  /(?:(["'])|(?<![\w.-]))([\w.-]+)\1(\s*[:=]\s*)("(?:[^"\\]|\\.)*"|'[^']*'|(?:(?:Bearer|Basic)\s+)?[^\s,;&}\]]+)/g;
const HAS_DIGIT_RUN = /\d{3}/;
const WHITESPACE = /\s/;

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

const VERDICT_CACHE_ENTRIES = 10_000;

/**
 * The built-in detectors applied to record text, exported so a test can count their steps on hostile
 * inputs. Global regexes keep state between calls: use them only through String.prototype.replace.
 */
export const BUILT_IN_PATTERNS: Readonly<Record<string, RegExp>> = {
  card: CARD,
  ssn: SSN,
  email: EMAIL,
  bearer: BEARER,
  keyValue: KEY_VALUE,
};

/** Builds a redactor; configuration is compiled once. @throws PatternConfigError for a bad pattern. */
export function createRedactor(config: RedactionConfig = {}): Redactor {
  const sensitive = [...DEFAULT_SENSITIVE_KEYS, ...(config.keys ?? [])]
    .map(words)
    .filter((w) => w.length > 0);
  const extra = (config.patterns ?? []).map((p) => {
    try {
      return { name: p.name, regex: new RegExp(p.pattern, `${(p.flags ?? '').replace('g', '')}g`) };
    } catch (cause) {
      throw new PatternConfigError(`redaction pattern "${p.name}": ${(cause as Error).message}`, { cause });
    }
  });

  // Keys repeat endlessly in telemetry; remember verdicts (bounded: cleared when full).
  const keyCache = new Map<string, boolean>();
  function isSensitiveKey(key: string): boolean {
    let verdict = keyCache.get(key);
    if (verdict === undefined) {
      const w = words(key);
      verdict = !w.some((x) => DESCRIPTIVE_WORDS.has(x)) && sensitive.some((s) => containsSequence(w, s));
      if (key.length <= CACHED_KEY_LIMIT) {
        if (keyCache.size >= VERDICT_CACHE_ENTRIES) keyCache.clear();
        keyCache.set(key, verdict);
      }
    }
    return verdict;
  }

  const maxInputChars = config.maxInputChars ?? DEFAULT_REDACT_MAX_INPUT_CHARS;
  if (!Number.isInteger(maxInputChars) || maxInputChars < 1024)
    throw new PatternConfigError(
      `maxInputChars must be a whole number of at least 1024, got ${maxInputChars}`,
    );

  // Results for short texts, bounded as the key verdicts are (cleared when full).
  const textCache = new Map<string, { value: string; count: number }>();
  /**
   * Text longer than the cap is truncated and marked, never passed on unscanned: the regexes see only
   * its first `maxInputChars` code units (cut back to a whitespace within CUT_LOOKBACK, so a secret
   * straddling the cut is dropped rather than half kept), and the rest is replaced by
   * `[TRUNCATED:<n> characters not scanned]`, counted as one replacement. Only text over the cap pays for
   * the cut; the pipeline's normalized records are within it by default.
   */
  function redactText(text: string): { value: string; count: number } {
    if (text.length <= CACHED_TEXT_LIMIT) {
      let result = textCache.get(text);
      if (result === undefined) {
        result = redactScanned(text);
        if (textCache.size >= VERDICT_CACHE_ENTRIES) textCache.clear();
        textCache.set(text, result);
      }
      return result;
    }
    if (text.length <= maxInputChars) return redactScanned(text);
    let cut = maxInputChars;
    for (let i = maxInputChars; i > maxInputChars - CUT_LOOKBACK; i--) {
      if (WHITESPACE.test(text[i]!)) {
        cut = i;
        break;
      }
    }
    // Never end the kept part between the halves of a surrogate pair.
    if (cut > 0 && isHighSurrogate(text.charCodeAt(cut - 1))) cut--;
    const head = redactScanned(text.slice(0, cut));
    return {
      value: `${head.value}[TRUNCATED:${text.length - cut} characters not scanned]`,
      count: head.count + 1,
    };
  }

  function redactScanned(text: string): { value: string; count: number } {
    let count = 0;
    let value = text;
    if (HAS_DIGIT_RUN.test(value)) {
      value = value.replace(CARD, (match) => {
        const digits = match.replace(/[ -]/g, '');
        if (digits.length < 13 || digits.length > 19 || !CARD_PREFIX.test(digits) || !luhnValid(digits))
          return match;
        count++;
        return '[REDACTED:credit_card]';
      });
      value = value.replace(SSN, () => {
        count++;
        return '[REDACTED:ssn]';
      });
    }
    if (value.includes('@')) {
      value = value.replace(EMAIL, () => {
        count++;
        return '[REDACTED:email]';
      });
    }
    if (value.includes('Bearer') || value.includes('Basic')) {
      value = value.replace(BEARER, (_m, scheme: string) => {
        count++;
        return `${scheme} ${REDACTED}`;
      });
    }
    if (value.includes('=') || value.includes(':')) {
      value = value.replace(
        KEY_VALUE,
        (match, quote: string | undefined, key: string, separator: string, raw: string) => {
          if (!isSensitiveKey(key) || raw.includes('[REDACTED')) return match;
          count++;
          const q = raw.startsWith('"') ? '"' : raw.startsWith("'") ? "'" : '';
          const k = quote ?? '';
          return `${k}${key}${k}${separator}${q}${REDACTED}${q}`;
        },
      );
    }
    for (const { name, regex } of extra) {
      value = value.replace(regex, () => {
        count++;
        return `[REDACTED:${name}]`;
      });
    }
    return { value, count };
  }

  function redactAttribute(key: string, value: string): { value: string; count: number } {
    if (!isSensitiveKey(key)) return redactText(value);
    return value === '' || value === REDACTED ? { value, count: 0 } : { value: REDACTED, count: 1 };
  }

  function redactAttributes(attributes: Attributes): { value: Attributes; count: number } {
    let copy: Attributes | undefined;
    let count = 0;
    for (const key in attributes) {
      const r = redactAttribute(key, attributes[key]!);
      if (r.count === 0) continue;
      count += r.count;
      if (copy === undefined) copy = Object.assign(emptyAttributes(), attributes);
      copy[key] = r.value;
    }
    return { value: copy ?? attributes, count };
  }

  // Resource and scope attribute maps are shared by all records of a resource/scope (see normalize), so
  // their verdict is computed once per map object.
  const sharedCache = new WeakMap<Attributes, { value: Attributes; count: number }>();
  function redactShared(attributes: Attributes): { value: Attributes; count: number } {
    let result = sharedCache.get(attributes);
    if (result === undefined) {
      result = redactAttributes(attributes);
      sharedCache.set(attributes, result);
    }
    return result;
  }

  function redactCustom<T extends CustomAttributes>(record: T, patch: Partial<CustomAttributes>): number {
    let count = 0;
    for (const key of CUSTOM_ATTRIBUTE_KEYS) {
      const r = redactText(record[key]);
      if (r.count > 0) {
        patch[key] = r.value;
        count += r.count;
      }
    }
    return count;
  }

  /** Span events or links: the attributes of each (their other fields are names, ids and times). */
  function redactEach<T extends { attributes: Attributes }>(items: T[]): { value: T[]; count: number } {
    let copy: T[] | undefined;
    let count = 0;
    items.forEach((item, i) => {
      const r = redactAttributes(item.attributes);
      if (r.count === 0) return;
      copy ??= items.slice();
      copy[i] = { ...item, attributes: r.value };
      count += r.count;
    });
    return { value: copy ?? items, count };
  }

  function redactLog(record: LogRecord): Redacted<LogRecord> {
    const body = redactText(record.body);
    const logAttributes = redactAttributes(record.log_attributes);
    const resourceAttributes = redactShared(record.resource_attributes);
    const scopeAttributes = redactShared(record.scope_attributes);
    const custom: Partial<CustomAttributes> = {};
    const count =
      body.count +
      logAttributes.count +
      resourceAttributes.count +
      scopeAttributes.count +
      redactCustom(record, custom);
    if (count === 0) return { record, count };
    return {
      record: {
        ...record,
        ...custom,
        body: body.value,
        log_attributes: logAttributes.value,
        resource_attributes: resourceAttributes.value,
        scope_attributes: scopeAttributes.value,
        redacted_count: record.redacted_count + count,
      },
      count,
    };
  }

  function redactSpan(span: SpanRecord): Redacted<SpanRecord> {
    const status = redactText(span.status_message);
    const spanAttributes = redactAttributes(span.span_attributes);
    const resourceAttributes = redactShared(span.resource_attributes);
    const scopeAttributes = redactShared(span.scope_attributes);
    const events = redactEach(span.events);
    const links = redactEach(span.links);
    const custom: Partial<CustomAttributes> = {};
    const count =
      status.count +
      spanAttributes.count +
      resourceAttributes.count +
      scopeAttributes.count +
      events.count +
      links.count +
      redactCustom(span, custom);
    if (count === 0) return { record: span, count };
    return {
      record: {
        ...span,
        ...custom,
        status_message: status.value,
        span_attributes: spanAttributes.value,
        resource_attributes: resourceAttributes.value,
        scope_attributes: scopeAttributes.value,
        events: events.value,
        links: links.value,
        redacted_count: span.redacted_count + count,
      },
      count,
    };
  }

  return { isSensitiveKey, redactText, redactAttribute, redactAttributes, redactLog, redactSpan };
}
