import { ClickHouseError, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client';
import { ApiError, DependencyUnavailableError } from '../errors';
import type { BuiltQuery } from './sql';

/** ClickHouse error codes meaning "the pipeline has not created its tables yet". */
const NOT_MIGRATED = new Set(['60', '81']); // UNKNOWN_TABLE, UNKNOWN_DATABASE
/** TIMEOUT_EXCEEDED: the query ran past max_execution_time (an overloaded server, or a very wide query). */
const TIMED_OUT = '159';
/** MEMORY_LIMIT_EXCEEDED: this query's own limit, or the server's total (then it is not the query's fault). */
const MEMORY_LIMIT = '241';
/** TOO_MANY_ROWS (max_rows_to_read), TOO_MANY_BYTES (max_bytes_to_read). */
const READ_LIMIT = new Set(['158', '307']);
/** TOO_MANY_ROWS_OR_BYTES: the result passed max_result_bytes. */
const RESULT_LIMIT = '396';

/** What one API query may cost ClickHouse; every limit is a configuration variable, named in errors. */
export interface QueryLimits {
  timeoutSeconds: number;
  maxMemoryBytes: number;
  maxReadBytes: number;
  /**
   * ClickHouse max_result_bytes. Undefined for a query whose rows are bounded by its LIMIT and whose
   * caller cuts the response to the byte limit itself (a page of logs), so it gets a shorter page
   * rather than an error: the engine counts allocated block bytes, which for a small result can be
   * many times its JSON.
   */
  maxResultBytes?: number;
}

/** The query would pass one of the per-query limits; a narrower request can succeed. */
export class QueryTooLargeError extends ApiError {
  readonly status = 400;
  readonly code = 'query_too_large';
}

/**
 * The settings every API query runs with. They are per query (HTTP parameters on a server, reset around
 * each call on chDB by sinks/clickhouse/chdb-connection.ts), so they never reach the sinks' writes.
 */
export function querySettings(limits: QueryLimits): ClickHouseSettings {
  return {
    // Defence in depth: the API only reads (readonly=2 still lets the client set its output settings).
    readonly: '2',
    max_execution_time: limits.timeoutSeconds,
    max_memory_usage: String(limits.maxMemoryBytes),
    max_bytes_to_read: String(limits.maxReadBytes),
    ...(limits.maxResultBytes === undefined
      ? {}
      : { max_result_bytes: String(limits.maxResultBytes), result_overflow_mode: 'throw' as const }),
    // A server keeps running an HTTP query whose client left unless told otherwise; the client side of
    // the abort is the request's AbortSignal.
    cancel_http_readonly_queries_on_client_close: 1,
  };
}

/**
 * Runs a parameterized SELECT under `limits` and returns its rows; `signal` aborts it when the client is
 * gone. Unreachable ClickHouse, missing tables and timeouts become DependencyUnavailableError (503); a
 * query over a per-query limit becomes QueryTooLargeError (400, naming the limit); other ClickHouse
 * errors are bugs and propagate as 500.
 */
export async function selectRows<T>(
  client: ClickHouseClient,
  built: BuiltQuery,
  limits: QueryLimits,
  signal?: AbortSignal,
): Promise<T[]> {
  try {
    const result = await client.query({
      query: built.query,
      query_params: built.params,
      format: 'JSONEachRow',
      clickhouse_settings: querySettings(limits),
      abort_signal: signal,
    });
    return await result.json<T>();
  } catch (error) {
    const code = clickHouseCode(error);
    if (code !== undefined) throw fromClickHouse(error as Error, code, limits);
    if (signal?.aborted === true) throw error; // the gate reports the client as gone
    throw new DependencyUnavailableError('clickhouse', 'unreachable', { cause: error });
  }
}

const MIB = 1024 * 1024;

/**
 * The ClickHouse error code of `error`, if ClickHouse raised it. Not `instanceof` alone: chdb/connection
 * throws the ClickHouseError of its own copy of @clickhouse/client-common, another class than the one
 * @clickhouse/client exports, so on chDB it is recognised by its numeric code.
 */
function clickHouseCode(error: unknown): string | undefined {
  if (error instanceof ClickHouseError) return error.code;
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === 'string' && /^\d+$/.test(code) ? code : undefined;
}

function fromClickHouse(error: Error, code: string, limits: QueryLimits): Error {
  const tooLarge = (detail: string) => new QueryTooLargeError(detail, { cause: error });
  if (NOT_MIGRATED.has(code))
    return new DependencyUnavailableError(
      'clickhouse',
      'tables are not created yet (is the pipeline running?)',
      {
        cause: error,
      },
    );
  if (code === TIMED_OUT)
    return new DependencyUnavailableError('clickhouse', 'query timed out', { cause: error });
  if (READ_LIMIT.has(code))
    return tooLarge(
      `the query would read more than API_QUERY_MAX_READ_MB (${limits.maxReadBytes / MIB} MiB); ` +
        'narrow the time range or add filters',
    );
  if (code === RESULT_LIMIT)
    return tooLarge(
      `the result would be larger than API_QUERY_MAX_RESULT_MB (${(limits.maxResultBytes ?? 0) / MIB} MiB); ` +
        'lower limit or narrow the time range',
    );
  if (code === MEMORY_LIMIT && /query memory limit/i.test(error.message))
    return tooLarge(
      `the query needs more memory than API_QUERY_MAX_MEMORY_MB (${limits.maxMemoryBytes / MIB} MiB); ` +
        'narrow the time range or add filters',
    );
  if (code === MEMORY_LIMIT)
    return new DependencyUnavailableError('clickhouse', 'out of memory', { cause: error });
  return error;
}
