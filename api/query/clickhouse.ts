import { ClickHouseError, type ClickHouseClient } from '@clickhouse/client';
import { DependencyUnavailableError } from '../errors';
import type { BuiltQuery } from './sql';

/** ClickHouse error codes meaning "the pipeline has not created its tables yet". */
const NOT_MIGRATED = new Set(['60', '81']); // UNKNOWN_TABLE, UNKNOWN_DATABASE
/** TIMEOUT_EXCEEDED: the query ran past max_execution_time (an overloaded server, or a very wide query). */
const TIMED_OUT = '159';

/**
 * Runs a parameterized SELECT and returns its rows. Unreachable ClickHouse, missing tables and timeouts
 * become DependencyUnavailableError (503); other ClickHouse errors are bugs and propagate as 500.
 */
export async function selectRows<T>(
  client: ClickHouseClient,
  built: BuiltQuery,
  timeoutSeconds = 30,
): Promise<T[]> {
  try {
    const result = await client.query({
      query: built.query,
      query_params: built.params,
      format: 'JSONEachRow',
      // Defence in depth: the API only reads (readonly=2 still lets the client set its output settings).
      clickhouse_settings: { readonly: '2', max_execution_time: timeoutSeconds },
    });
    return await result.json<T>();
  } catch (error) {
    if (error instanceof ClickHouseError) {
      if (NOT_MIGRATED.has(error.code)) {
        throw new DependencyUnavailableError(
          'clickhouse',
          'tables are not created yet (is the pipeline running?)',
          { cause: error },
        );
      }
      if (error.code === TIMED_OUT)
        throw new DependencyUnavailableError('clickhouse', 'query timed out', { cause: error });
      throw error;
    }
    throw new DependencyUnavailableError('clickhouse', 'unreachable', { cause: error });
  }
}
