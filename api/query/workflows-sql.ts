import { ERROR_SEVERITY } from './services-sql';
import { LOGS_TABLE } from './logs-sql';
import { WORKFLOW_ID_KEYS } from './log-filter';
import { SqlParams, table, type BuiltQuery } from './sql';

export interface WorkflowRow {
  workflow_id: string;
  first_seen_unix_nano: string;
  last_activity_unix_nano: string;
  log_count: string | number;
  error_count: string | number;
  services: string[];
  last_severity_text: string;
  last_message: string;
}

/** The workflow id of a row: first non-empty of the known keys, log attributes before resource attributes. */
const WORKFLOW_ID_SQL = `multiIf(${WORKFLOW_ID_KEYS.flatMap((k) => [
  `LogAttributes['${k}'] != '', LogAttributes['${k}']`,
  `ResourceAttributes['${k}'] != '', ResourceAttributes['${k}']`,
]).join(', ')}, '')`;

/** Workflows with log activity since `sinceNanos`, most recently active first. */
export function buildWorkflowsQuery(
  database: string,
  sinceNanos: bigint,
  limit: number,
  service?: string,
): BuiltQuery {
  const p = new SqlParams();
  const serviceCondition = service === undefined ? '' : `AND ServiceName = ${p.bind('String', service)}`;
  const query = `SELECT
  ${WORKFLOW_ID_SQL} AS workflow_id,
  toString(min(toUnixTimestamp64Nano(Timestamp))) AS first_seen_unix_nano,
  toString(max(toUnixTimestamp64Nano(Timestamp))) AS last_activity_unix_nano,
  count() AS log_count,
  countIf(SeverityNumber >= ${ERROR_SEVERITY}) AS error_count,
  arraySort(groupUniqArray(32)(ServiceName)) AS services,
  argMax(SeverityText, Timestamp) AS last_severity_text,
  argMax(Body, Timestamp) AS last_message
FROM ${table(database, LOGS_TABLE)}
WHERE Timestamp >= fromUnixTimestamp64Nano(${p.bind('Int64', sinceNanos)}) ${serviceCondition}
GROUP BY workflow_id
HAVING workflow_id != ''
ORDER BY max(Timestamp) DESC, workflow_id ASC
LIMIT ${p.bind('UInt32', limit)}`;
  return { query, params: p.values };
}
