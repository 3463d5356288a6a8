import { buildPatternsQuery, RECENT_BUCKETS } from './patterns-sql';

describe('buildPatternsQuery', () => {
  it('binds the service, range and limit as parameters and never puts them in the SQL text', () => {
    const evil = "x'); DROP TABLE stacklens_log_patterns; --";
    const built = buildPatternsQuery('stacklens', 1_000n, 2_000n, 25, evil);
    expect(built.query).not.toContain('DROP');
    expect(built.query).toContain('`stacklens`.`stacklens_log_patterns`');
    expect(Object.values(built.params)).toEqual(['1000', '2000', evil, 25]);
    const placeholders = [...built.query.matchAll(/\{(p\d+):[A-Za-z0-9]+\}/g)].map((m) => m[1]);
    expect(new Set(placeholders)).toEqual(new Set(Object.keys(built.params)));
    expect(built.query).toMatch(/LIMIT \{p3:UInt32\} BY service$/);
    expect(built.query).toContain(`-${RECENT_BUCKETS})`);
  });

  it('filters no service when none is given', () => {
    const built = buildPatternsQuery('stacklens', 1n, 2n, 10);
    expect(built.query).not.toContain('service = {');
    expect(Object.values(built.params)).toEqual(['1', '2', 10]);
  });

  it('refuses a database name that is not a plain identifier', () => {
    expect(() => buildPatternsQuery('x`; DROP', 1n, 2n, 10)).toThrow(RangeError);
  });
});
