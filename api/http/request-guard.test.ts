import type { IncomingMessage } from 'node:http';
import { BadRequestError, ForbiddenOriginError, MisdirectedRequestError } from '../errors';
import { createRequestGuard } from './request-guard';

const guard = createRequestGuard({
  allowedOrigins: ['https://dash.example.com'],
  allowedHosts: ['stacklens.internal'],
});

function request(
  url: string,
  headers: Record<string, string> = {},
  localAddress = '127.0.0.1',
): IncomingMessage {
  return { url, headers, socket: { localAddress } } as unknown as IncomingMessage;
}

describe('request guard', () => {
  it('parses origin-form targets as paths, so // stays a path', () => {
    expect(guard.url(request('//')).pathname).toBe('//');
    expect(guard.url(request('//evil.example/ws/logs')).pathname).toBe('//evil.example/ws/logs');
    const url = guard.url(request('/ws/logs?q=a%20b&attr.x=1'));
    expect([url.pathname, url.searchParams.get('q'), url.searchParams.get('attr.x')]).toEqual([
      '/ws/logs',
      'a b',
      '1',
    ]);
    expect(guard.url(request('http://127.0.0.1:8080/health?x=1')).pathname).toBe('/health');
  });

  it.each([
    ['%', /malformed percent-encoding/],
    ['/api/traces/%zz', /malformed percent-encoding/],
    ['/sse/logs?service=%ff', /malformed percent-encoding/],
    ['*', /neither a path nor an http\(s\) URL/],
    ['ftp://example.com/', /neither a path nor an http\(s\) URL/],
    ['', /neither a path nor an http\(s\) URL/],
  ])('refuses the target %j with a 400 naming the problem', (target, message) => {
    expect(() => guard.url(request(target))).toThrow(BadRequestError);
    expect(() => guard.url(request(target))).toThrow(message);
  });

  it.each([
    '127.0.0.1:8080',
    'localhost:8080',
    'LOCALHOST.',
    'api.localhost:8080',
    '[::1]:8080',
    '10.1.2.3',
    'stacklens.internal:443',
  ])('serves Host %s on a loopback address', (host) => {
    expect(() => guard.checkHost(request('/', { host }))).not.toThrow();
  });

  it('refuses other Host names on a loopback address (421), and leaves other interfaces to proxies', () => {
    expect(() => guard.checkHost(request('/', { host: 'attacker.example:8080' }))).toThrow(
      MisdirectedRequestError,
    );
    expect(() => guard.checkHost(request('/', { host: 'attacker.example' }, '::ffff:127.0.0.1'))).toThrow(
      MisdirectedRequestError,
    );
    expect(() => guard.checkHost(request('/', { host: 'attacker.example' }, '10.0.0.5'))).not.toThrow();
  });

  it.each(['exa mple', 'host:port', '[::1', '[nothost]:80', 'a:99999999'])(
    'refuses the malformed Host %j with a 400',
    (host) => {
      expect(() => guard.checkHost(request('/', { host }))).toThrow(BadRequestError);
    },
  );

  it('admits no Origin, the same origin and listed origins; refuses the rest with a 403', () => {
    const host = '127.0.0.1:8080';
    const ok = (origin?: string) =>
      guard.checkOrigin(request('/', origin === undefined ? { host } : { host, origin }));
    expect(() => ok()).not.toThrow();
    expect(() => ok('http://127.0.0.1:8080')).not.toThrow();
    expect(() => ok('https://dash.example.com')).not.toThrow();
    for (const origin of [
      'http://evil.example',
      'null',
      'http://127.0.0.1:9090',
      'a, b',
      'https://dash.example.com:8443',
    ])
      expect(() => ok(origin)).toThrow(ForbiddenOriginError);
  });

  it('matches a Host without a port to the origin default port (behind a TLS-terminating proxy)', () => {
    const check = (host: string, origin: string) => () => guard.checkOrigin(request('/', { host, origin }));
    expect(check('stacklens.example.com', 'https://stacklens.example.com')).not.toThrow();
    expect(check('stacklens.example.com:80', 'http://stacklens.example.com')).not.toThrow();
    expect(check('stacklens.example.com', 'https://stacklens.example.com:8443')).toThrow(
      ForbiddenOriginError,
    );
  });
});
