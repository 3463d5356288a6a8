import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { StackLensConfig } from '../../config/config';
import { UnauthorizedError } from '../errors';

export type AuthConfig = StackLensConfig['http']['auth'];

/**
 * Compares secrets in constant time: both sides are hashed first, so neither the content nor the length
 * of the expected secret leaks through timing.
 */
export function secretEquals(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/**
 * Returns a check that throws UnauthorizedError unless the request carries the configured credentials.
 * Token auth reads `Authorization: Bearer <token>` or, for browsers' EventSource and WebSocket which cannot
 * set headers, the `access_token` query parameter; basic auth reads `Authorization: Basic <base64>` or,
 * for the same clients, that base64 of `user:password` in `access_token`.
 */
export function createAuthenticator(auth: AuthConfig): (req: IncomingMessage, url: URL) => void {
  switch (auth.kind) {
    case 'none':
      return () => undefined;
    case 'basic':
      return (req, url) => {
        const header = req.headers.authorization ?? '';
        const match =
          /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header) ??
          (header === '' ? /^([A-Za-z0-9+/=]+)$/.exec(url.searchParams.get('access_token') ?? '') : null);
        const decoded = match ? Buffer.from(match[1] ?? '', 'base64').toString('utf8') : '';
        const colon = decoded.indexOf(':');
        const user = colon >= 0 ? decoded.slice(0, colon) : '';
        const password = colon >= 0 ? decoded.slice(colon + 1) : '';
        // Both comparisons always run, so timing does not reveal which one failed.
        const userOk = secretEquals(user, auth.username);
        const passwordOk = secretEquals(password, auth.password);
        if (!(match && userOk && passwordOk)) throw new UnauthorizedError('Basic');
      };
    case 'token':
      return (req, url) => {
        const header = req.headers.authorization ?? '';
        const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
        const given = match?.[1] ?? url.searchParams.get('access_token') ?? '';
        if (given === '' || !secretEquals(given, auth.token)) throw new UnauthorizedError('Bearer');
      };
  }
}
