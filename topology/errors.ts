import { StackLensError } from '../common/errors';

/** A topology that cannot run as written (duplicate names, unknown stores, missing sources...). */
export class TopologyDefinitionError extends StackLensError {}

/** Sources that are joined or merged into one task do not have the same partition count. */
export class CoPartitioningError extends StackLensError {}

/** A state store reached its configured entry bound; the record that needed room goes to the DLQ. */
export class StateStoreFullError extends StackLensError {}

/** Bytes on a source topic could not be turned into a key, a value or a timestamp. */
export class DeserializationError extends StackLensError {}

/** The Kafka runtime was misused or hit a state it cannot continue from. */
export class StreamsRuntimeError extends StackLensError {}

/** A batch was given up before its commit (partition revoked or application stopping); it will be replayed. */
export class BatchAbandonedError extends StackLensError {}
