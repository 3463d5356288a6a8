import { hasFullTextSearch, otelLogsTable, otelTracesTable, ttlClause } from './otel-schema';

describe('the exporter schema renderer', () => {
  it('renders retention as the exporter renders a TTL of whole days, and none for 0', () => {
    expect(ttlClause(30, 'toDateTime(Timestamp)')).toBe('TTL toDateTime(Timestamp) + toIntervalDay(30)');
    expect(ttlClause(0, 'toDateTime(Timestamp)')).toBe('');
    expect(() => ttlClause(-1, 'x')).toThrow(RangeError);
    expect(() => ttlClause(1.5, 'x')).toThrow(RangeError);
  });

  it('uses text() indexes from ClickHouse 26.2 on, as the exporter does', () => {
    expect(['26.2.1.1', '26.7.2.1', '27.1'].map(hasFullTextSearch)).toEqual([true, true, true]);
    expect(['26.1.3', '25.8.1.5', '24.12', 'garbage', ''].map(hasFullTextSearch)).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
  });

  it('has no TimestampTime on otel_logs and sorts by Timestamp, in both index variants', () => {
    for (const fullTextSearch of [true, false]) {
      const sql = otelLogsTable({ table: 'otel_logs', fullTextSearch, ttlDays: 3 });
      expect(sql).not.toContain('TimestampTime');
      expect(sql).toContain('ORDER BY (toStartOfFiveMinutes(Timestamp), ServiceName, Timestamp)');
      expect(sql).toContain('TTL toDateTime(Timestamp) + toIntervalDay(3)');
      expect(sql).toContain('`__otel_materialized_deployment.environment.name`');
      expect(sql.includes("TYPE text(tokenizer = 'splitByNonAlpha')")).toBe(fullTextSearch);
      expect(sql.includes('tokenbf_v1')).toBe(!fullTextSearch);
    }
  });

  it('indexes lower(SpanName) on otel_traces in both variants', () => {
    for (const fullTextSearch of [true, false]) {
      const sql = otelTracesTable({ table: 'otel_traces', fullTextSearch, ttlDays: 0 });
      expect(sql).toContain(
        'INDEX idx_lower_span_name lower(SpanName) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8',
      );
      expect(sql).not.toContain('TTL');
      expect(sql.includes('bloom_filter')).toBe(!fullTextSearch);
    }
  });
});
