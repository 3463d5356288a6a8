/**
 * What a task does with a record it cannot handle, as Kafka Streams' DeserializationExceptionHandler
 * (bytes that are not a key, a value or a timestamp) and ProcessingExceptionHandler (an operator or
 * punctuation that throws, KIP-1033) decide:
 * - `dead-letter` (the default): the record goes to the DLQ topic with headers naming the error and
 *   its source, and processing goes on: nothing is lost, nothing stops the pipeline;
 * - `continue`: the record is dropped, logged and counted (Kafka Streams' LogAndContinue);
 * - `fail`: the application stops with a RecordHandlingFailedError naming the record, and commits
 *   nothing of it (Kafka Streams' LogAndFail, its default): for pipelines where a skipped record is
 *   worse than a stopped one.
 *
 * An output over the record size limit is not a handler's matter: it is always dead-lettered by
 * reference to its input (a Kafka Streams ProductionExceptionHandler would fail the commit for good,
 * since the same input produces it again).
 */
export type ExceptionPolicy = 'dead-letter' | 'continue' | 'fail';

export interface ExceptionPolicies {
  readonly deserialization: ExceptionPolicy;
  readonly processing: ExceptionPolicy;
}

export const DEFAULT_EXCEPTION_POLICIES: ExceptionPolicies = {
  deserialization: 'dead-letter',
  processing: 'dead-letter',
};
