import { BadParameterError } from '../errors';
import { logsQuerySchema, parseQuery, type LogsQuery } from './params';
import type { z } from 'zod';

const schema = logsQuerySchema(100, 1_000) as unknown as z.ZodType<LogsQuery>;

describe('parseQuery', () => {
  it('validates known parameters and splits attr.* filters off', () => {
    const { params, attributes } = parseQuery(
      schema,
      {
        service: 'beorn',
        level: 'WARN',
        limit: '20',
        start_time: '1760486400',
        'attr.circuit_id': 'C-1',
        'attr.http.route': '/x',
        access_token: 't',
      },
      true,
    );
    expect(params).toMatchObject({
      service: 'beorn',
      level: 13,
      limit: 20,
      start_time: 1_760_486_400_000_000_000n,
    });
    expect(attributes).toEqual([
      ['circuit_id', 'C-1'],
      ['http.route', '/x'],
    ]);
  });

  it('applies the default page size', () => {
    expect(parseQuery(schema, {}, true).params.limit).toBe(100);
  });

  it.each([
    [{ 'attr.': 'x' }, 'attr.'],
    [{ "attr.a'b": 'x' }, "attr.a'b"],
    [{ 'attr.a': ['x', 'y'] }, 'attr.a'],
    [{ nope: '1' }, 'nope'],
    [{ limit: '1001' }, 'limit'],
    [{ trace_id: 'a b' }, 'trace_id'],
  ])('rejects %j naming %s', (raw, parameter) => {
    expect(() => parseQuery(schema, raw, true)).toThrow(BadParameterError);
    try {
      parseQuery(schema, raw, true);
    } catch (error) {
      expect((error as BadParameterError).parameter).toBe(parameter);
    }
  });

  it('does not accept attr.* where the route has no attribute filters', () => {
    expect(() => parseQuery(schema, { 'attr.a': 'x' }, false)).toThrow(/^attr\.a: unknown parameter/);
  });
});
