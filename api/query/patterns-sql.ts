import { PATTERN_TABLES } from '../../sinks/clickhouse/pattern-tables';
import { SqlParams, table, type BuiltQuery } from './sql';

export interface PatternRow {
  service: string;
  pattern_id: string | number;
  template: string;
  first_seen_ms: string | number;
  bucket_seconds: string | number;
  total: string | number;
  /** [bucket start in epoch ms, count], oldest first, the newest RECENT_BUCKETS of the range. */
  buckets: [string | number, string | number][];
}

/** Buckets of each pattern returned for its sparkline (an hour of the default minute buckets). */
export const RECENT_BUCKETS = 60;

/**
 * Per service, its `limit` most frequent patterns with buckets starting in [start, end): the latest
 * template, first seen, the total count and the newest buckets' counts. A bucket written again by a
 * replay may be there twice until ClickHouse merges it; the inner GROUP BY keeps its highest count, as
 * the table's ReplacingMergeTree(count) will.
 */
export function buildPatternsQuery(
  database: string,
  startNanos: bigint,
  endNanos: bigint,
  limit: number,
  service?: string,
): BuiltQuery {
  const p = new SqlParams();
  const conditions = [
    `bucket_start >= fromUnixTimestamp64Nano(${p.bind('Int64', startNanos)})`,
    `bucket_start < fromUnixTimestamp64Nano(${p.bind('Int64', endNanos)})`,
  ];
  if (service !== undefined) conditions.push(`service = ${p.bind('String', service)}`);
  const query = `SELECT
  service,
  pattern_id,
  argMax(template, bucket_start) AS template,
  toString(min(first_ms)) AS first_seen_ms,
  max(seconds) AS bucket_seconds,
  sum(bucket_count) AS total,
  arraySlice(arraySort((b) -> b.1, groupArray((toUnixTimestamp64Milli(bucket_start), bucket_count))), -${RECENT_BUCKETS}) AS buckets
FROM (
  SELECT service, pattern_id, bucket_start, argMax(template, count) AS template,
    min(toUnixTimestamp64Milli(first_seen)) AS first_ms, max(bucket_seconds) AS seconds, max(count) AS bucket_count
  FROM ${table(database, PATTERN_TABLES.patterns)}
  WHERE ${conditions.join(' AND ')}
  GROUP BY service, pattern_id, bucket_start
)
GROUP BY service, pattern_id
ORDER BY service ASC, total DESC, pattern_id ASC
LIMIT ${p.bind('UInt32', limit)} BY service`;
  return { query, params: p.values };
}
