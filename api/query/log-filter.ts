import type { LogRecord } from '../../processors/records';

/** What a log query or a live tail selects; every field optional, all given fields must match. */
export interface LogFilter {
  service?: string;
  /** Minimum OTel severity number. */
  minSeverity?: number;
  traceId?: string;
  spanId?: string;
  workflowId?: string;
  /** Case-insensitive substring of the body. */
  text?: string;
  startNanos?: bigint;
  endNanos?: bigint;
  /** [name, value] pairs matched against log attributes, then resource attributes. */
  attributes: readonly (readonly [string, string])[];
}

/** Attribute keys a workflow id is found under (the seeds' workers use workflow_id). */
export const WORKFLOW_ID_KEYS = ['workflow_id', 'workflow.id'] as const;

/** Live-tail matching of a normalized record, with the same semantics as the SQL filter. */
export function matchesLog(filter: LogFilter, record: LogRecord): boolean {
  if (filter.service !== undefined && record.service !== filter.service) return false;
  if (filter.minSeverity !== undefined && record.severity_number < filter.minSeverity) return false;
  if (filter.traceId !== undefined && record.trace_id !== filter.traceId) return false;
  if (filter.spanId !== undefined && record.span_id !== filter.spanId) return false;
  if (filter.workflowId !== undefined && workflowIdOf(record) !== filter.workflowId) return false;
  if (filter.text !== undefined && !record.body.toLowerCase().includes(filter.text.toLowerCase()))
    return false;
  if (filter.startNanos !== undefined || filter.endNanos !== undefined) {
    const t = BigInt(record.time_unix_nano || '0');
    if (filter.startNanos !== undefined && t < filter.startNanos) return false;
    if (filter.endNanos !== undefined && t > filter.endNanos) return false;
  }
  return filter.attributes.every(([name, value]) => attributeOf(record, name) === value);
}

function workflowIdOf(record: LogRecord): string {
  if (record.workflow_id) return record.workflow_id;
  for (const key of WORKFLOW_ID_KEYS) {
    const v = record.log_attributes[key] ?? record.resource_attributes[key];
    if (v) return v;
  }
  return '';
}

/** Log attributes first, then resource attributes (same precedence as the SQL filter). */
function attributeOf(record: LogRecord, name: string): string | undefined {
  return Object.hasOwn(record.log_attributes, name)
    ? record.log_attributes[name]
    : record.resource_attributes[name];
}
