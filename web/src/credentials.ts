/** What the user typed at the login step; kept in sessionStorage, so it ends with the browser tab. */
export type Credentials =
  { kind: 'token'; token: string } | { kind: 'basic'; username: string; password: string };

/** The scheme the API asks for in its 401's WWW-Authenticate header. */
export type Scheme = Credentials['kind'];

const KEY = 'stacklens.credentials';

/** Base64 of UTF-8 text (btoa alone takes Latin-1 only). */
export function base64(text: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** The Authorization header of REST requests. */
export function authorization(c: Credentials): string {
  return c.kind === 'token' ? `Bearer ${c.token}` : `Basic ${base64(`${c.username}:${c.password}`)}`;
}

/**
 * The `access_token` parameter of WebSocket URLs (browsers cannot set headers on them): the token, or
 * for basic auth the same base64 credentials the header carries (api/http/auth.ts accepts both).
 */
export function accessToken(c: Credentials): string {
  return c.kind === 'token' ? c.token : base64(`${c.username}:${c.password}`);
}

export function schemeOf(wwwAuthenticate: string | null): Scheme {
  return /^\s*basic/i.test(wwwAuthenticate ?? '') ? 'basic' : 'token';
}

export function loadCredentials(storage: Pick<Storage, 'getItem'>): Credentials | undefined {
  try {
    const parsed = JSON.parse(storage.getItem(KEY) ?? 'null') as Partial<Credentials> | null;
    if (parsed?.kind === 'token' && typeof parsed.token === 'string') return parsed as Credentials;
    if (
      parsed?.kind === 'basic' &&
      typeof parsed.username === 'string' &&
      typeof parsed.password === 'string'
    )
      return parsed as Credentials;
  } catch {
    // A value this version did not write: ignored, the user logs in again.
  }
  return undefined;
}

export function saveCredentials(storage: Pick<Storage, 'setItem' | 'removeItem'>, c?: Credentials): void {
  if (c === undefined) storage.removeItem(KEY);
  else storage.setItem(KEY, JSON.stringify(c));
}
