import { StackLensError } from '../common/errors';

/** Why a message (or one record of it) could not be decoded; stable strings, usable as metric labels. */
export type DecodeReason =
  | 'empty'
  | 'unsupported_content_type'
  | 'invalid_json'
  | 'invalid_protobuf'
  | 'unknown_format'
  | 'invalid_structure'
  | 'invalid_record';

/**
 * A whole Kafka message is undecodable (the runtime sends it to the DLQ). Problems confined to one record
 * of a batch are not thrown: they come back as `RecordError`s next to the good records.
 */
export class DecodeError extends StackLensError {
  constructor(
    readonly reason: DecodeReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** One bad record inside an otherwise decodable batch. */
export interface RecordError {
  /** Position of the record in its message, counting records across all resources/scopes (0-based). */
  index: number;
  reason: DecodeReason;
  message: string;
}

/** Good records of a message plus the records that had to be skipped. */
export interface RecordBatch<T> {
  records: T[];
  errors: RecordError[];
}

/** The alert rules file is invalid; the message names the rule and field. */
export class AlertRulesError extends StackLensError {}

/** A redaction or error-classification setting is invalid: a pattern that does not compile, a bound out of range. */
export class PatternConfigError extends StackLensError {}

/** A record size limit (RECORD_MAX_*) is out of range; the message names it. */
export class RecordLimitsError extends StackLensError {}

/** Two correlations of different traces were merged. */
export class CorrelationMismatchError extends StackLensError {}
