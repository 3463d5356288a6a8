import { StackLensError } from '../common/errors';

/** A source range that cannot name a sink object or an insert token. */
export class InvalidSourceRangeError extends StackLensError {}

/**
 * The Kafka messages a sink write stands for: one partition, offsets `firstOffset`..`lastOffset`
 * inclusive (decimal strings, as kafkajs gives them). Sinks derive their idempotence keys from it —
 * ClickHouse insert deduplication tokens, archive object names — so writing the same range again,
 * as a replay after a crash does, replaces or is dropped instead of adding a copy. That holds when
 * the replayed write covers the same range: the caller must cut ranges at reproducible offsets.
 */
export interface SourceRange {
  topic: string;
  partition: number;
  firstOffset: string;
  lastOffset: string;
}

// Kafka's own topic name rule; it also keeps '/' and '..' out of object keys and file names.
const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;
const OFFSET = /^(0|[1-9][0-9]{0,18})$/;

export function assertValidSourceRange(range: SourceRange): void {
  if (!TOPIC.test(range.topic) || range.topic === '.' || range.topic === '..') {
    throw new InvalidSourceRangeError(`invalid Kafka topic name ${JSON.stringify(range.topic)}`);
  }
  if (!Number.isInteger(range.partition) || range.partition < 0) {
    throw new InvalidSourceRangeError(`invalid partition ${range.partition}`);
  }
  if (!OFFSET.test(range.firstOffset) || !OFFSET.test(range.lastOffset)) {
    throw new InvalidSourceRangeError(
      `offsets must be non-negative decimal integers, got ${range.firstOffset}..${range.lastOffset}`,
    );
  }
  if (BigInt(range.firstOffset) > BigInt(range.lastOffset)) {
    throw new InvalidSourceRangeError(
      `first offset ${range.firstOffset} is after last offset ${range.lastOffset}`,
    );
  }
}

/** `<topic>-<partition>-<firstOffset>-<lastOffset>`: stable, and unique per range. */
export function sourceRangeLabel(range: SourceRange): string {
  assertValidSourceRange(range);
  return `${range.topic}-${range.partition}-${range.firstOffset}-${range.lastOffset}`;
}
