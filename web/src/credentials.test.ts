import {
  accessToken,
  authorization,
  base64,
  loadCredentials,
  saveCredentials,
  schemeOf,
  type Credentials,
} from './credentials';

/** A Storage stand-in: the functions only get and set one key. */
function memoryStorage(): Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> {
  const items = new Map<string, string>();
  return {
    getItem: (k) => items.get(k) ?? null,
    setItem: (k, v) => void items.set(k, v),
    removeItem: (k) => void items.delete(k),
  };
}

describe('console credentials', () => {
  it('encodes basic credentials as UTF-8 base64, the same in the header and the access token', () => {
    const basic: Credentials = { kind: 'basic', username: 'ops', password: 'pä:ss word' };
    // ä is two bytes in UTF-8 (btoa alone would take it as one Latin-1 byte).
    expect(base64('ä')).toBe('w6Q=');
    expect(authorization(basic)).toBe(`Basic ${base64('ops:pä:ss word')}`);
    expect(accessToken(basic)).toBe(base64('ops:pä:ss word'));
    const token: Credentials = { kind: 'token', token: 't0k' };
    expect(authorization(token)).toBe('Bearer t0k');
    expect(accessToken(token)).toBe('t0k');
  });

  it("reads the scheme from the API's WWW-Authenticate header", () => {
    expect(schemeOf('Basic realm="stacklens", charset="UTF-8"')).toBe('basic');
    expect(schemeOf('Bearer realm="stacklens"')).toBe('token');
    expect(schemeOf(null)).toBe('token');
  });

  it('keeps credentials in the given storage and ignores what it did not write', () => {
    const storage = memoryStorage();
    expect(loadCredentials(storage)).toBeUndefined();
    saveCredentials(storage, { kind: 'token', token: 'abc' });
    expect(loadCredentials(storage)).toEqual({ kind: 'token', token: 'abc' });
    saveCredentials(storage);
    expect(loadCredentials(storage)).toBeUndefined();
    storage.setItem('stacklens.credentials', '{"kind":"basic","username":1}');
    expect(loadCredentials(storage)).toBeUndefined();
    storage.setItem('stacklens.credentials', 'not json');
    expect(loadCredentials(storage)).toBeUndefined();
  });
});
