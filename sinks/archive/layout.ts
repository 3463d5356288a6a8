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

/** How objects are written, as the awss3 exporter's `marshaler` and `compression` settings. */
export type ArchiveMarshaler = 'otlp_json' | 'otlp_proto';
export type ArchiveCompression = 'gzip' | 'none';

export interface ArchiveFormat {
  marshaler: ArchiveMarshaler;
  compression: ArchiveCompression;
}

/** What the Collector's awss3 exporter writes by default, and StackLens before these settings existed. */
export const DEFAULT_ARCHIVE_FORMAT: ArchiveFormat = { marshaler: 'otlp_json', compression: 'gzip' };

/** The exporter's file extension: `.json` or `.binpb`, then `.gz` when compressed. */
export function archiveExtension(format: ArchiveFormat): string {
  return `${format.marshaler === 'otlp_json' ? '.json' : '.binpb'}${format.compression === 'gzip' ? '.gz' : ''}`;
}

/**
 * `<prefix>year=…/minute=…/<signal>_<topic>-<partition>-<first>-<last>.<json|binpb>[.gz]`: the layout of
 * the Collector's awss3 exporter (`<s3_prefix>/<s3_partition_format>/<file_prefix><logs|traces>_<unique>
 * .<ext>`, file_prefix empty), which its awss3 receiver lists in time-range mode: per minute (or hour)
 * folder, the keys starting with `<signal>_`, decoded by extension.
 *
 * The exporter's unique part is random; StackLens' is the source range, so nothing in the key comes from
 * the clock or chance: written again for the same range and time, the key is the same and the object is
 * replaced, not duplicated. `timeMs` must therefore come from the data too — the Kafka timestamp of the
 * range's first message, say — never from `Date.now()`.
 */
export function archiveKey(options: {
  prefix: string;
  signal: ArchiveSignal;
  source: SourceRange;
  timeMs: number;
  format: ArchiveFormat;
}): string {
  const { prefix, signal, source, timeMs, format } = options;
  return `${prefix}${hivePartition(timeMs)}/${signal}_${sourceRangeLabel(source)}${archiveExtension(format)}`;
}

/**
 * The start of the key of any object of `signal` whose range starts at `firstOffset` in that
 * partition and whose first message has the time `timeMs`: what `archiveKey` gives up to the last
 * offset, in any format. The archive sink lists it to find out whether (and up to where) a range
 * starting there was already written.
 */
export function archiveKeyPrefix(options: {
  prefix: string;
  signal: ArchiveSignal;
  topic: string;
  partition: number;
  firstOffset: string;
  timeMs: number;
}): string {
  const { prefix, signal, topic, partition, firstOffset, timeMs } = options;
  const label = sourceRangeLabel({ topic, partition, firstOffset, lastOffset: firstOffset });
  return `${prefix}${hivePartition(timeMs)}/${signal}_${label.slice(0, label.length - firstOffset.length)}`;
}

/**
 * The last offset of the object under `key`, listed with `keyPrefix` (see archiveKeyPrefix), or
 * undefined when the key is not such an object: a key of a topic whose name extends ours (topic
 * `a-1` partition 2 next to topic `a` partition 1) has more than one offset after the prefix. Objects
 * of either marshaler and compression count: changing ARCHIVE_MARSHALER does not archive a range twice.
 */
export function lastOffsetOf(key: string, keyPrefix: string): string | undefined {
  if (!key.startsWith(keyPrefix)) return undefined;
  return /^(0|[1-9][0-9]{0,18})\.(?:json|binpb)(?:\.gz)?$/.exec(key.slice(keyPrefix.length))?.[1];
}

/**
 * Where the archive sink notes that offsets from `offset` on are already inside an object written
 * for an earlier, longer range (see ./archive-sink.ts): under `_stacklens/` at the root of the bucket
 * (or directory), outside the archive's prefix and its time folders, so that neither the awss3
 * receiver nor a reader of everything under the prefix mistakes it for telemetry.
 */
export function continuationKey(options: {
  prefix: string;
  signal: ArchiveSignal;
  topic: string;
  partition: number;
  offset: string;
}): string {
  const { prefix, signal, topic, partition, offset } = options;
  const label = sourceRangeLabel({ topic, partition, firstOffset: offset, lastOffset: offset });
  return `_stacklens/continuations/${prefix}${signal}/${label.slice(0, label.length - offset.length - 1)}.json`;
}
