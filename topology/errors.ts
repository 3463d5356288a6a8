import { StackLensError } from '../common/errors';

/** A topology that cannot run as written (duplicate names, unknown stores, missing sources...). */
export class TopologyDefinitionError extends StackLensError {}

/** Sources that are joined or merged into one task do not have the same partition count. */
export class CoPartitioningError extends StackLensError {}

/** A state store reached its configured entry bound; the record that needed room goes to the DLQ. */
export class StateStoreFullError extends StackLensError {}

/** A key too large for a persistent store (LMDB keys are at most 1977 bytes here); the record goes to the DLQ. */
export class StateStoreKeyTooLargeError extends StackLensError {}

/** A sink's `write` would take its buffer past its bound (see batching-sink.ts); flush first. */
export class SinkBufferFullError extends StackLensError {}

/** Bytes on a source topic could not be turned into a key, a value or a timestamp. */
export class DeserializationError extends StackLensError {}

/**
 * An output a record produced is over the largest record the broker takes (maxRecordBytes): the
 * output is replaced by a dead letter that names its input, and the application goes on.
 */
export class RecordTooLargeError extends StackLensError {}

/** The Kafka runtime was misused or hit a state it cannot continue from. */
export class StreamsRuntimeError extends StackLensError {}

/**
 * The instance may no longer own what a checkpoint holds (a rebalance since it began, or no
 * heartbeat answered within the session timeout): it is abandoned and its records processed again.
 */
export class StaleCheckpointError extends StackLensError {}

/** A checkpoint was given up before its commit (partition revoked or application stopping); its records are processed again. */
export class BatchAbandonedError extends StackLensError {}

/**
 * A record could not be deserialized or processed and its exception policy is `fail` (see
 * processor/exception-policy.ts): the application stops without committing the record.
 */
export class RecordHandlingFailedError extends StackLensError {}
