import { expandMacros, interpolateVariables, UnsupportedMacroError } from './grafana-clickhouse-macros';

// Expected strings as grafana-clickhouse-datasource's own macro tests (pkg/macros/macros_test.go).
const ctx = { fromMs: 1415792726371, toMs: 1447328726371, intervalMs: 20_000 };

describe('grafana-clickhouse-datasource macros', () => {
  it('expands time filters and bounds as the plugin does', () => {
    expect(expandMacros('WHERE $__timeFilter(Timestamp)', ctx)).toBe(
      'WHERE Timestamp >= toDateTime(1415792726) AND Timestamp <= toDateTime(1447328726)',
    );
    expect(expandMacros('$__timeFilter_ms(t)', ctx)).toBe(
      't >= fromUnixTimestamp64Milli(1415792726371) AND t <= fromUnixTimestamp64Milli(1447328726371)',
    );
    expect(expandMacros('$__fromTime, $__toTime, $__fromTime_ms', ctx)).toBe(
      'toDateTime(1415792726), toDateTime(1447328726), fromUnixTimestamp64Milli(1415792726371)',
    );
    expect(expandMacros('$__dateFilter(d)', ctx)).toBe(
      "d >= toDate('2014-11-12') AND d <= toDate('2015-11-12')",
    );
  });

  it('expands intervals in whole seconds, at least 1', () => {
    expect(expandMacros('$__timeInterval(col)', ctx)).toBe(
      'toStartOfInterval(toDateTime(col), INTERVAL 20 second)',
    );
    expect(expandMacros('$__timeInterval_ms(col)', ctx)).toBe(
      'toStartOfInterval(toDateTime64(col, 3), INTERVAL 20000 millisecond)',
    );
    expect(expandMacros('count() / $__interval_s', { ...ctx, intervalMs: 200 })).toBe('count() / 1');
    expect(expandMacros('$__timeInterval(toDateTime(a, b))', ctx)).toBe(
      'toStartOfInterval(toDateTime(toDateTime(a, b)), INTERVAL 20 second)',
    );
  });

  it('refuses macros it does not expand and wrong arities', () => {
    expect(() => expandMacros('$__conditionalAll(a, $x)', ctx)).toThrow(UnsupportedMacroError);
    expect(() => expandMacros('$__timeFilter(a, b)', ctx)).toThrow(/expects 1 argument, got 2/);
  });

  it('replaces dashboard variables in their three spellings, leaving macros to the plugin', () => {
    expect(
      interpolateVariables('FROM ${database}.t, $database.u, [[database]].v WHERE $__timeFilter(x)', {
        database: 'stacklens',
      }),
    ).toBe('FROM stacklens.t, stacklens.u, stacklens.v WHERE $__timeFilter(x)');
    expect(() => interpolateVariables('$service', {})).toThrow(/undefined dashboard variable \$service/);
  });
});
