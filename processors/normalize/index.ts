import type { RecordBatch } from '../errors';
import type { DecodedLogs } from '../otlp/decode';
import type { LogRecord, SourcePosition } from '../records';
import { normalizeJsonLog } from './json-log';
import { normalizeOtlpLogs } from './logs';

export { normalizeOtlpLogs } from './logs';
export { normalizeOtlpSpans, spanKindName, statusCodeName } from './spans';
export { normalizeJsonLog } from './json-log';
export { promoteCustomAttributes } from './custom-attributes';
export { resolveSeverity, severityNumberFromText, severityText, SEVERITY } from './severity';

/** Normalizes whatever decodeLogsMessage returned (OTLP batch or single contract record). */
export function normalizeLogs(decoded: DecodedLogs, position: SourcePosition): RecordBatch<LogRecord> {
  if (decoded.format === 'json_log')
    return { records: [normalizeJsonLog(decoded.record, position)], errors: [] };
  return normalizeOtlpLogs(decoded.request, decoded.format, position);
}
