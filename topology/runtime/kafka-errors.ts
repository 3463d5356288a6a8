import { StreamsRuntimeError } from '../errors';

/**
 * A record batch the broker refused as too large (MESSAGE_TOO_LARGE / RECORD_LIST_TOO_LARGE): a
 * record bigger than the topic's max.message.bytes, or a bound (maxProduceBytesPerPartition) set
 * above it. Replaying the run would produce the same bytes again, so this is fatal, like Kafka
 * Streams' RecordTooLargeException: the application stops and says what to fix.
 */
export class ProducedRecordTooLargeError extends StreamsRuntimeError {}

/**
 * The transaction was open longer than the transaction timeout (the process stalled: GC pause,
 * SIGSTOP) and the coordinator aborted it, bumping the producer's epoch. Not a zombie of another
 * instance: the producer is created again and the checkpoint's records are processed again.
 */
export class TransactionTimedOutError extends StreamsRuntimeError {}

/** kafkajs protocol error types of an error, its causes (retries exceeded) and aggregated errors. */
export function errorTypes(error: unknown): string[] {
  const types: string[] = [];
  const seen = new Set<unknown>();
  const visit = (e: unknown): void => {
    if (typeof e !== 'object' || e === null || seen.has(e)) return;
    seen.add(e);
    if ('type' in e && typeof e.type === 'string') types.push(e.type);
    if ('cause' in e) visit(e.cause);
    if ('errors' in e && Array.isArray(e.errors)) for (const inner of e.errors) visit(inner);
  };
  visit(error);
  return types;
}

const FENCING = new Set([
  'INVALID_PRODUCER_EPOCH',
  'PRODUCER_FENCED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
]);
const REBALANCE = new Set([
  'REBALANCE_IN_PROGRESS',
  'NOT_COORDINATOR_FOR_GROUP',
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
]);
const TOO_LARGE = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);
/**
 * What a busy broker answers for a while about topics and groups it has just created or taken
 * over: their partitions or coordinator are not ready on it yet.
 */
const NOT_READY_YET = new Set([
  'UNKNOWN_TOPIC_OR_PARTITION',
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_FOR_PARTITION',
  'GROUP_LOAD_IN_PROGRESS',
  'GROUP_COORDINATOR_NOT_AVAILABLE',
  'NOT_COORDINATOR_FOR_GROUP',
]);

/** Another producer took our transactional id: this instance is a zombie. */
export function isFencingError(error: unknown): boolean {
  return errorTypes(error).some((t) => FENCING.has(t));
}

export function isRebalanceError(error: unknown): boolean {
  return errorTypes(error).some((t) => REBALANCE.has(t));
}

export function isTooLargeError(error: unknown): boolean {
  return errorTypes(error).some((t) => TOO_LARGE.has(t));
}

/** The broker does not serve a topic or group it has just created yet: trying again later may work. */
export function isNotReadyYetError(error: unknown): boolean {
  return errorTypes(error).some((t) => NOT_READY_YET.has(t));
}
