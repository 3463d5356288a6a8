import { PatternConfigError } from '../errors';
import { sampleLog, sampleSpan } from '../../test/support/otlp-fixtures';
import { luhnValid } from './luhn';
import { createRedactor, REDACTED } from './redactor';

const redactor = createRedactor();
const text = (s: string) => redactor.redactText(s);

describe('luhnValid', () => {
  it('accepts valid card numbers and rejects altered ones', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('378282246310005')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(luhnValid('')).toBe(false);
  });
});

describe('redactText', () => {
  it.each([
    ['card 4111 1111 1111 1111 declined', 'card [REDACTED:credit_card] declined'],
    ['card 4111-1111-1111-1111.', 'card [REDACTED:credit_card].'],
    ['pan=5555555555554444', 'pan=[REDACTED:credit_card]'],
    ['amex 3782 822463 10005 ok', 'amex [REDACTED:credit_card] ok'],
    ['ssn 123-45-6789 on file', 'ssn [REDACTED:ssn] on file'],
    ['mail john.doe+x@example.co.uk now', 'mail [REDACTED:email] now'],
    ['Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abc.def', 'Authorization: Bearer [REDACTED]'],
    ['login failed password=hunter2 user=bob', `login failed password=${REDACTED} user=bob`],
    ['{"api_key": "abc123", "n": 1}', `{"api_key": "${REDACTED}", "n": 1}`],
  ])('redacts %s', (input, expected) => {
    const r = text(input);
    expect(r.value).toBe(expected);
    expect(r.count).toBe(1);
  });

  it.each([
    ['non-Luhn 16 digits', 'order 4111111111111112 shipped'],
    ['16 digits with a non-card prefix', 'id 1234567812345670'],
    ['trace id', 'trace 4bf92f3577b34da6a3ce929d0e0e4736'],
    ['all-digit trace id', 'trace 41111111111111114111111111111111'],
    ['ns timestamp', 'at 1768473000531000000'],
    ['ms timestamp', 'at 1768473000531'],
    ['uuid', 'req 12345678-1234-1234-1234-123456789012'],
    ['ISO date', 'on 2026-01-15T10:30:45.123Z'],
    ['phone-like', 'call 555-1234'],
    ['invalid SSN area', 'code 000-12-3456 and 666-12-3456'],
    ['no TLD', 'user@localhost'],
    ['token counts', 'input_tokens=120 output_tokens: 30'],
    ['version', 'v1.4.2 build 20260115'],
  ])('keeps %s', (_name, input) => {
    expect(text(input)).toEqual({ value: input, count: 0 });
  });

  it('counts every replacement', () => {
    expect(text('a@b.io c@d.io 123-45-6789').count).toBe(3);
  });

  it('gives a repeated value the same result every time, remembered or not', () => {
    const fresh = createRedactor();
    const long = `${'x '.repeat(200)}mail bob@example.com`;
    for (let round = 0; round < 2; round++) {
      expect(fresh.redactText('mail bob@example.com')).toEqual({ value: 'mail [REDACTED:email]', count: 1 });
      expect(fresh.redactText(long)).toEqual({ value: `${'x '.repeat(200)}mail [REDACTED:email]`, count: 1 });
      // More distinct values than the cache holds, so the second round runs after it was cleared.
      for (let i = 0; i < 12_000; i++) expect(fresh.redactText(`user${i}@example.com`).count).toBe(1);
    }
  });
});

describe('redactAttributes', () => {
  it('redacts by key regardless of value, by value otherwise, and copies only on change', () => {
    const attrs = {
      'db.password': 'x',
      accessToken: 'abc',
      'x-api-key': 'k',
      'http.request.header.authorization': 'Basic Zm9v',
      client_secret: 's',
      'user.email': 'a@b.com',
      ok: 'fine',
    };
    const r = redactor.redactAttributes(attrs);
    expect(r.value).toEqual({
      'db.password': REDACTED,
      accessToken: REDACTED,
      'x-api-key': REDACTED,
      'http.request.header.authorization': REDACTED,
      client_secret: REDACTED,
      'user.email': '[REDACTED:email]',
      ok: 'fine',
    });
    expect(r.count).toBe(6);
    expect(attrs['db.password']).toBe('x');
  });

  it('leaves descriptive keys and token usage alone and returns the same object', () => {
    const attrs = {
      'gen_ai.usage.input_tokens': '12',
      'llm.token_count.prompt': '7',
      token_type: 'Bearer',
      tokens: '3',
    };
    const r = redactor.redactAttributes(attrs);
    expect(r.value).toBe(attrs);
    expect(r.count).toBe(0);
  });
});

describe('configuration', () => {
  it('adds keys and patterns', () => {
    const custom = createRedactor({
      keys: ['session_id'],
      patterns: [{ name: 'iban', pattern: 'DE\\d{20}' }],
    });
    expect(custom.redactAttributes({ 'app.session_id': 'abc' }).value['app.session_id']).toBe(REDACTED);
    expect(custom.redactText('pay to DE44500105175407324931').value).toBe('pay to [REDACTED:iban]');
  });

  it('rejects an input cap too small to scan a record', () => {
    expect(() => createRedactor({ maxInputChars: 10 })).toThrow(PatternConfigError);
  });

  it('names the bad pattern', () => {
    expect(() => createRedactor({ patterns: [{ name: 'broken', pattern: '(' }] })).toThrow(
      PatternConfigError,
    );
    expect(() => createRedactor({ patterns: [{ name: 'broken', pattern: '(' }] })).toThrow(/"broken"/);
  });
});

describe('redactLog / redactSpan', () => {
  it('returns the same record when clean', () => {
    const log = sampleLog();
    expect(redactor.redactLog(log)).toEqual({ record: log, count: 0 });
    expect(redactor.redactLog(log).record).toBe(log);
  });

  it('redacts body, attributes and promoted custom fields and counts them', () => {
    const log = sampleLog({
      body: 'card 4111 1111 1111 1111',
      log_attributes: { password: 'p', request_id: 'bob@example.com' },
      request_id: 'bob@example.com',
      redacted_count: 1,
    });
    const { record, count } = redactor.redactLog(log);
    expect(count).toBe(4);
    expect(record.body).toBe('card [REDACTED:credit_card]');
    expect(record.log_attributes).toEqual({ password: REDACTED, request_id: '[REDACTED:email]' });
    expect(record.request_id).toBe('[REDACTED:email]');
    expect(record.redacted_count).toBe(5);
    expect(log.body).toBe('card 4111 1111 1111 1111');
  });

  it('redacts a shared resource map once and shares the result', () => {
    const resource = { 'service.name': 'beorn', 'service.owner': 'ops@example.com' };
    const a = redactor.redactLog(sampleLog({ resource_attributes: resource }));
    const b = redactor.redactLog(sampleLog({ id: 'other', resource_attributes: resource }));
    expect(a.record.resource_attributes).toEqual({
      'service.name': 'beorn',
      'service.owner': '[REDACTED:email]',
    });
    expect(b.record.resource_attributes).toBe(a.record.resource_attributes);
    expect([a.count, b.count]).toEqual([1, 1]);
    expect(resource['service.owner']).toBe('ops@example.com');
  });

  it('redacts a short bearer credential after an authorization key in text', () => {
    expect(text('Authorization: Bearer abc').value).toBe(`Authorization: ${REDACTED}`);
  });

  it('redacts scope attributes (shared like resource ones) and span link attributes', () => {
    const scope = { 'team.contact': 'ops@example.com' };
    const log = redactor.redactLog(sampleLog({ scope_attributes: scope }));
    expect(log.record.scope_attributes).toEqual({ 'team.contact': '[REDACTED:email]' });
    expect(log.count).toBe(1);
    const span = redactor.redactSpan(
      sampleSpan({
        scope_attributes: scope,
        links: [
          {
            trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
            span_id: '1111111111111111',
            trace_state: '',
            attributes: { cookie: 'sid=1' },
          },
        ],
      }),
    );
    expect(span.record.scope_attributes).toBe(log.record.scope_attributes);
    expect(span.record.links[0]!.attributes).toEqual({ cookie: REDACTED });
    expect(span.count).toBe(2);
    expect(scope['team.contact']).toBe('ops@example.com');
  });

  it('exposes the key verdict and the per-value attribute rule', () => {
    expect(redactor.isSensitiveKey('db.password')).toBe(true);
    expect(redactor.isSensitiveKey('gen_ai.usage.input_tokens')).toBe(false);
    expect(redactor.redactAttribute('x-api-key', 'k')).toEqual({ value: REDACTED, count: 1 });
    expect(redactor.redactAttribute('x-api-key', '')).toEqual({ value: '', count: 0 });
    expect(redactor.redactAttribute('note', 'ssn 123-45-6789')).toEqual({
      value: 'ssn [REDACTED:ssn]',
      count: 1,
    });
  });

  it('redacts span status, attributes and event attributes', () => {
    const span = sampleSpan({
      status_message: 'user a@b.com not allowed',
      span_attributes: { 'http.request.header.cookie': 'sid=1' },
      events: [
        { name: 'exception', time_unix_nano: '1', attributes: { 'exception.message': 'ssn 123-45-6789' } },
      ],
    });
    const { record, count } = redactor.redactSpan(span);
    expect(count).toBe(3);
    expect(record.status_message).toBe('user [REDACTED:email] not allowed');
    expect(record.span_attributes['http.request.header.cookie']).toBe(REDACTED);
    expect(record.events[0]!.attributes['exception.message']).toBe('ssn [REDACTED:ssn]');
    expect(span.events[0]!.attributes['exception.message']).toBe('ssn 123-45-6789');
  });
});

describe('hostile text', () => {
  const capped = createRedactor({ maxInputChars: 2048 });

  it('redacts keys at the start of dashed and dotted runs, which the anchored pattern must still find', () => {
    expect(text('run --password=hunter2 now').value).toBe(`run --password=${REDACTED} now`);
    expect(text('cfg .db.password=x').value).toBe(`cfg .db.password=${REDACTED}`);
    expect(text('x_password=1 y').value).toBe(`x_password=${REDACTED} y`);
  });

  it('redacts 80 KB bodies shaped to make the old key=value pattern backtrack, and what follows them', () => {
    const run = 'a'.repeat(80_000);
    expect(text(`${run} password=hunter2`).value).toBe(`${run} password=${REDACTED}`);
    const dashed = 'a-'.repeat(40_000);
    expect(text(`${dashed} token=abc`).value).toBe(`${dashed} token=${REDACTED}`);
  });

  it('truncates text over the cap and marks it, scanning what it keeps', () => {
    const head = 'mail bob@example.com '.repeat(90);
    const r = capped.redactText(`${head}${'x'.repeat(5000)} password=hunter2`);
    expect(r.value.startsWith('mail [REDACTED:email] ')).toBe(true);
    expect(r.value).toMatch(/\[TRUNCATED:\d+ characters not scanned\]$/);
    expect(r.value).not.toContain('hunter2');
    expect(r.count).toBe(91);
  });

  it('drops, rather than half keeps, a secret that straddles the cap', () => {
    const filler = 'word '.repeat(409); // 2045 characters: the card's first group ends at the cap
    const r = capped.redactText(`${filler}4111 1111 1111 1111 and more`);
    // Cut at the space before the card (index 2044): the 29 characters from there on are dropped.
    expect(r.value).toBe(`${filler.trimEnd()}[TRUNCATED:29 characters not scanned]`);
    expect(r.value).not.toContain('4111');
  });

  it('does not split a surrogate pair at the cut', () => {
    const r = capped.redactText(`${'a'.repeat(2047)}😀${'b'.repeat(10)}`);
    expect(r.value.startsWith(`${'a'.repeat(2047)}[TRUNCATED:`)).toBe(true);
  });
});
