import { buildLogsQuery } from './logs-sql';

describe('buildLogsQuery', () => {
  it('binds every filter value as a parameter and never puts it in the SQL text', () => {
    const evil = "x'); DROP TABLE otel_logs; --";
    const built = buildLogsQuery(
      'stacklens',
      {
        service: evil,
        minSeverity: 13,
        traceId: 'abc',
        workflowId: evil,
        text: evil,
        startNanos: 1n,
        endNanos: 2n,
        attributes: [[evil, evil]],
      },
      50,
      { timeNanos: 3n, rowKey: '4' },
    );
    expect(built.query).not.toContain('DROP');
    expect(built.query).not.toContain(evil);
    expect(Object.values(built.params)).toEqual(
      expect.arrayContaining([evil, 13, 'abc', '1', '2', '3', '4', 51]),
    );
    // Every placeholder in the text has a value and vice versa.
    const placeholders = [...built.query.matchAll(/\{(p\d+):[A-Za-z0-9]+\}/g)].map((m) => m[1]);
    expect(new Set(placeholders)).toEqual(new Set(Object.keys(built.params)));
  });

  it('orders newest first with the row key as tie-breaker and fetches one extra row', () => {
    const built = buildLogsQuery('stacklens', { attributes: [] }, 10);
    expect(built.query).toMatch(
      /ORDER BY Timestamp DESC, if\(StackLensRecordId != '', StackLensRecordId, .*\) DESC/,
    );
    expect(built.query).not.toContain('WHERE');
    expect(built.params).toEqual({ p0: 11 });
  });

  it('pages strictly after the cursor position', () => {
    const built = buildLogsQuery('stacklens', { attributes: [] }, 10, { timeNanos: 5n, rowKey: '6' });
    expect(built.query).toMatch(
      /\(Timestamp, if\(.*\)\) < \(fromUnixTimestamp64Nano\(\{p0:Int64\}\), \{p1:String\}\)/,
    );
    expect(built.params).toMatchObject({ p0: '5', p1: '6' });
  });

  it('refuses a database name that is not a plain identifier', () => {
    expect(() => buildLogsQuery('db`; DROP', { attributes: [] }, 1)).toThrow(RangeError);
  });
});
