import type { IncomingMessage } from 'node:http';
import { UnauthorizedError } from '../errors';
import { createAuthenticator, secretEquals } from './auth';

const req = (authorization?: string) =>
  ({ headers: authorization === undefined ? {} : { authorization } }) as IncomingMessage;
const url = (query = '') => new URL(`http://localhost/api/logs${query}`);
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('secretEquals', () => {
  it('compares content, whatever the lengths', () => {
    expect(secretEquals('abc', 'abc')).toBe(true);
    expect(secretEquals('abc', 'abd')).toBe(false);
    expect(secretEquals('abc', 'abcd')).toBe(false);
    expect(secretEquals('', 'x')).toBe(false);
  });
});

describe('createAuthenticator', () => {
  it('lets everything through with auth none', () => {
    expect(() => createAuthenticator({ kind: 'none' })(req(), url())).not.toThrow();
  });

  it('basic: accepts the configured credentials only', () => {
    const check = createAuthenticator({ kind: 'basic', username: 'ops', password: 'p:ss word' });
    expect(() => check(req(basic('ops', 'p:ss word')), url())).not.toThrow();
    for (const header of [
      undefined,
      basic('ops', 'wrong'),
      basic('other', 'p:ss word'),
      'Bearer p:ss word',
      'Basic !!!',
    ]) {
      expect(() => check(req(header), url())).toThrow(UnauthorizedError);
    }
  });

  it('basic: accepts the base64 credentials in access_token (browser WebSocket and EventSource)', () => {
    const check = createAuthenticator({ kind: 'basic', username: 'ops', password: 'p:ss word' });
    const param = (user: string, password: string) =>
      `?access_token=${encodeURIComponent(Buffer.from(`${user}:${password}`).toString('base64'))}`;
    expect(() => check(req(), url(param('ops', 'p:ss word')))).not.toThrow();
    expect(() => check(req(), url(param('ops', 'wrong')))).toThrow(UnauthorizedError);
    expect(() => check(req(), url('?access_token=ops:p:ss%20word'))).toThrow(UnauthorizedError);
    // A header, even a wrong one, is what counts when there is one.
    expect(() => check(req(basic('ops', 'wrong')), url(param('ops', 'p:ss word')))).toThrow(
      UnauthorizedError,
    );
  });

  it('token: accepts a Bearer header or the access_token parameter', () => {
    const token = '0123456789abcdef0123';
    const check = createAuthenticator({ kind: 'token', token });
    expect(() => check(req(`Bearer ${token}`), url())).not.toThrow();
    expect(() => check(req(), url(`?access_token=${token}`))).not.toThrow();
    expect(() => check(req(), url())).toThrow(UnauthorizedError);
    expect(() => check(req('Bearer nope'), url())).toThrow(UnauthorizedError);
    expect(() => check(req(basic('x', token)), url())).toThrow(UnauthorizedError);
  });
});
