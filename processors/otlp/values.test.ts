import type { LongLike } from './types';
import {
  anyValueToString,
  emptyAttributes,
  idToHex,
  InvalidFieldError,
  nanosDiff,
  nanosToMs,
  nanosToString,
  toAttributes,
} from './values';

/** What protobufjs hands us for a 64-bit field (a Long's two 32-bit halves). */
function long(value: bigint): LongLike {
  const bits = BigInt.asUintN(64, value);
  return { low: Number(bits & 0xffffffffn) | 0, high: Number(bits >> 32n) | 0, unsigned: value >= 0n };
}

describe('nanosToString', () => {
  it('reads protobufjs Longs exactly, beyond 2^53', () => {
    const ns = 1768473000123456789n;
    expect(nanosToString(long(ns), 't')).toBe('1768473000123456789');
    expect(nanosToString(long(42n), 't')).toBe('42');
  });

  it('reads JSON strings and numbers, normalizing leading zeros', () => {
    expect(nanosToString('0001', 't')).toBe('1');
    expect(nanosToString(1000, 't')).toBe('1000');
    expect(nanosToString(undefined, 't')).toBe('0');
  });

  it('rejects malformed values', () => {
    expect(() => nanosToString('-1', 't')).toThrow(InvalidFieldError);
    expect(() => nanosToString(1.5, 't')).toThrow(InvalidFieldError);
  });
});

describe('time arithmetic', () => {
  it('converts to ms by flooring and subtracts without precision loss', () => {
    expect(nanosToMs('1768473000123999999')).toBe(1768473000123);
    expect(nanosToMs('999999')).toBe(0);
    expect(nanosDiff('1768473000123456789', '1768473000000000000')).toBe('123456789');
    expect(nanosDiff('1', '2')).toBe('0');
  });
});

describe('idToHex', () => {
  it('converts bytes and hex, treating all-zero as absent', () => {
    expect(idToHex(Uint8Array.from([0, 240, 103, 170, 11, 169, 2, 183]), 8, 'spanId')).toBe(
      '00f067aa0ba902b7',
    );
    expect(idToHex(new Uint8Array(16), 16, 'traceId')).toBe('');
    expect(idToHex('ABCDEF0123456789', 8, 'spanId')).toBe('abcdef0123456789');
    expect(idToHex('', 8, 'spanId')).toBe('');
  });

  it('rejects wrong lengths and non-hex', () => {
    expect(() => idToHex(new Uint8Array(5), 8, 'spanId')).toThrow(/spanId must be 8 bytes/);
    expect(() => idToHex('zz'.repeat(8), 8, 'spanId')).toThrow(/16 hex/);
  });
});

describe('anyValueToString / toAttributes', () => {
  it('renders like pdata AsString', () => {
    expect(anyValueToString({ intValue: long(-5n) })).toBe('-5');
    expect(anyValueToString({ boolValue: false })).toBe('false');
    expect(anyValueToString({ bytesValue: Uint8Array.from([1, 2, 3]) })).toBe('AQID');
    expect(anyValueToString({ arrayValue: { values: [{ intValue: 1 }, { stringValue: 'x' }] } })).toBe(
      '[1,"x"]',
    );
    expect(anyValueToString({})).toBe('');
    expect(anyValueToString(null)).toBe('');
  });

  it('stores any key, including __proto__, and lets later duplicates win', () => {
    const attrs = toAttributes([
      { key: '__proto__', value: { stringValue: 'x' } },
      { key: 'a', value: { stringValue: '1' } },
      { key: 'a', value: { stringValue: '2' } },
      { value: { stringValue: 'no key' } },
    ]);
    expect(Object.keys(attrs)).toEqual(['__proto__', 'a']);
    expect(attrs.a).toBe('2');
  });

  it('reads no key it was not given: no Object.prototype member shows through an attribute map', () => {
    const attrs = toAttributes([{ key: 'toString', value: { stringValue: 't' } }]);
    expect(attrs.toString).toBe('t');
    for (const key of ['constructor', 'hasOwnProperty', 'valueOf', '__proto__', '__defineGetter__']) {
      expect(attrs[key]).toBeUndefined();
      expect(key in attrs).toBe(false);
    }
    const empty = emptyAttributes();
    empty.__proto__ = 'p';
    expect({ ...empty }).toEqual({ ['__proto__']: 'p' });
    expect(JSON.stringify(empty)).toBe('{"__proto__":"p"}');
  });
});
