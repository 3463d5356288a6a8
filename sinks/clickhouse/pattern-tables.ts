import type { PatternBucket, PatternRef } from '../../processors/patterns/pattern-anomalies';
import { InvalidRowError } from './rows';

/**
 * The tables of mined log patterns (app/pipeline/log-patterns.ts). The pattern of a log row is kept
 * in a side table keyed by the row's StackLensRecordId rather than a column of otel_logs: a log row is
 * inserted before its service's miner (a later sub-topology, after the repartition by service) has
 * seen it, and ClickHouse cannot cheaply update a row. Both tables collapse replayed rows themselves.
 */
export const PATTERN_TABLES = {
  patterns: 'stacklens_log_patterns',
  refs: 'stacklens_log_pattern_refs',
} as const;

/**
 * One row per service, pattern and bucket (a minute by default) with lines in it: the template (as it
 * was when the bucket closed), when the pattern was first seen and the bucket's count. A replay
 * re-derives the same key; ReplacingMergeTree(count) keeps one row per key.
 */
const LOG_PATTERNS = `
CREATE TABLE IF NOT EXISTS ${PATTERN_TABLES.patterns} (
    service LowCardinality(String) CODEC(ZSTD(1)),
    pattern_id UInt32,
    template String CODEC(ZSTD(1)),
    first_seen DateTime64(3, 'UTC') CODEC(Delta(8), ZSTD(1)),
    bucket_start DateTime64(3, 'UTC') CODEC(Delta(8), ZSTD(1)),
    bucket_seconds UInt32,
    count UInt32
) ENGINE = ReplacingMergeTree(count)
PARTITION BY toYYYYMM(bucket_start)
ORDER BY (service, pattern_id, bucket_start)`;

/** The pattern of each log line, by the line's otel_logs.StackLensRecordId. */
const LOG_PATTERN_REFS = `
CREATE TABLE IF NOT EXISTS ${PATTERN_TABLES.refs} (
    record_id String CODEC(ZSTD(1)),
    service LowCardinality(String) CODEC(ZSTD(1)),
    pattern_id UInt32,
    timestamp DateTime64(3, 'UTC') CODEC(Delta(8), ZSTD(1)),
    INDEX idx_record_id record_id TYPE bloom_filter(0.001) GRANULARITY 1
) ENGINE = ReplacingMergeTree
PARTITION BY toDate(timestamp)
ORDER BY (service, pattern_id, timestamp, record_id)`;

export const PATTERN_MIGRATIONS: readonly string[] = [LOG_PATTERNS, LOG_PATTERN_REFS];

export interface LogPatternRow {
  service: string;
  pattern_id: number;
  template: string;
  first_seen: string;
  bucket_start: string;
  bucket_seconds: number;
  count: number;
}

export interface LogPatternRefRow {
  record_id: string;
  service: string;
  pattern_id: number;
  timestamp: string;
}

export function logPatternRow(b: PatternBucket): LogPatternRow {
  return {
    service: b.service,
    pattern_id: b.pattern_id,
    template: b.template,
    first_seen: millis(b.first_seen_ms, 'first_seen'),
    bucket_start: millis(b.bucket_start_ms, 'bucket_start'),
    bucket_seconds: Math.round(b.bucket_ms / 1000),
    count: b.count,
  };
}

export function logPatternRefRow(r: PatternRef): LogPatternRefRow {
  return {
    record_id: r.record_id,
    service: r.service,
    pattern_id: r.pattern_id,
    timestamp: millis(r.time_ms, 'timestamp'),
  };
}

/** Millisecond ticks, zero-padded (see ./rows.ts on why); a time before 1970 is stored as 1970. */
function millis(ms: number, field: string): string {
  if (!Number.isFinite(ms)) throw new InvalidRowError(`log pattern ${field} is not a time: ${ms}`);
  return String(Math.max(0, Math.trunc(ms))).padStart(13, '0');
}
