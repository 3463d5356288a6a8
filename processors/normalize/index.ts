import type { RecordBatch } from '../errors';
import type { DecodedLogs } from '../otlp/decode';
import { InvalidFieldError } from '../otlp/values';
import type { LogRecord, SourcePosition } from '../records';
import { normalizeJsonLog } from './json-log';
import { DEFAULT_RECORD_LIMITS, type RecordLimits } from './limits';
import { normalizeOtlpLogs } from './logs';

export { normalizeOtlpLogs } from './logs';
export { normalizeOtlpSpans, spanKindName, statusCodeName } from './spans';
export { normalizeJsonLog } from './json-log';
export { promoteCustomAttributes } from './custom-attributes';
export {
  DEFAULT_RECORD_LIMITS,
  maxSerializedRecordBytes,
  resolveRecordLimits,
  TRUNCATED_ATTRIBUTE,
  type RecordLimits,
} from './limits';
export { resolveSeverity, severityNumberFromText, severityText, SEVERITY } from './severity';

/** Normalizes whatever decodeLogsMessage returned (OTLP batch or single contract record), within `limits`. */
export function normalizeLogs(
  decoded: DecodedLogs,
  position: SourcePosition,
  limits: RecordLimits = DEFAULT_RECORD_LIMITS,
): RecordBatch<LogRecord> {
  if (decoded.format === 'json_log') {
    try {
      return { records: [normalizeJsonLog(decoded.record, position, limits)], errors: [] };
    } catch (error) {
      if (!(error instanceof InvalidFieldError)) throw error;
      return { records: [], errors: [{ index: 0, reason: 'invalid_record', message: error.message }] };
    }
  }
  return normalizeOtlpLogs(decoded.request, decoded.format, position, limits);
}
