import { StackLensError } from '../../common/errors';
import { sourceRangeLabel, type SourceRange } from '../source-range';

/** A time that cannot place an object in the archive's partitions. */
export class InvalidArchiveTimeError extends StackLensError {}

export type ArchiveSignal = 'logs' | 'traces';

/**
 * Hive-style partition folders, as the Collector's awss3 exporter lays them out by default
 * (`s3_partition_format` year=%Y/month=%m/day=%d/hour=%H/minute=%M), in UTC, so Athena, Spark,
 * DuckDB or ClickHouse's s3() table function can prune by time the same way.
 */
export function hivePartition(timeMs: number): string {
  if (!Number.isFinite(timeMs)) throw new InvalidArchiveTimeError(`not a time: ${timeMs}`);
  const t = new Date(timeMs);
  if (Number.isNaN(t.getTime())) throw new InvalidArchiveTimeError(`time out of range: ${timeMs}`);
  const two = (n: number) => String(n).padStart(2, '0');
  return `year=${t.getUTCFullYear()}/month=${two(t.getUTCMonth() + 1)}/day=${two(t.getUTCDate())}/hour=${two(t.getUTCHours())}/minute=${two(t.getUTCMinutes())}`;
}

/**
 * `<prefix><signal>/year=…/minute=…/<topic>-<partition>-<first>-<last>.json.gz`.
 *
 * Everything in the key comes from the batch, nothing from the clock or a random suffix (unlike the
 * awss3 exporter's file names): written again for the same range and time, the key is the same and
 * the object is replaced, not duplicated. `timeMs` must therefore come from the data too — the Kafka
 * timestamp of the range's first message, say — never from `Date.now()`.
 */
export function archiveKey(options: {
  prefix: string;
  signal: ArchiveSignal;
  source: SourceRange;
  timeMs: number;
}): string {
  return `${options.prefix}${options.signal}/${hivePartition(options.timeMs)}/${sourceRangeLabel(options.source)}.json.gz`;
}
