import { BadParameterError } from '../errors';
import { decodeCursor, encodeCursor } from './cursor';

describe('log cursor', () => {
  it('round-trips the position, including 64-bit values a JS number would round', () => {
    const cursor = { timeNanos: 1_760_486_400_123_456_789n, rowKey: 'otel-logs:2:18446744073709551615:3' };
    expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
  });

  it('is URL-safe', () => {
    expect(encodeCursor({ timeNanos: 1n, rowKey: '2' })).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it.each([
    'not-base64!',
    Buffer.from('{"v":1,"t":"x","k":"1"}').toString('base64url'),
    Buffer.from('{"v":2,"t":"1","k":"1"}').toString('base64url'),
    Buffer.from('{"v":1,"t":"99999999999999999999","k":"1"}').toString('base64url'),
    Buffer.from('{"v":1,"t":"1","k":""}').toString('base64url'),
  ])('rejects %s naming the parameter', (text) => {
    expect(() => decodeCursor(text)).toThrow(BadParameterError);
    expect(() => decodeCursor(text)).toThrow(/^cursor: /);
  });
});
