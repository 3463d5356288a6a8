import type { ClickHouseClient } from '@clickhouse/client';
import { sourceRangeLabel, type SourceRange } from '../source-range';

/**
 * The insert deduplication token of rows from a source range: the range itself, so inserting the
 * same range again (a retried flush, a replay after a crash) is dropped by ClickHouse instead of
 * doubling rows (the tables set non_replicated_deduplication_window, see ./migrations.ts).
 */
export function deduplicationToken(source: SourceRange): string {
  return `stacklens:${sourceRangeLabel(source)}`;
}

/**
 * One JSONEachRow insert of `rows` into `table` under `token`; without a token ClickHouse
 * deduplicates by the block's content hash instead. No rows, no insert. No retries: a sink's
 * failed flush is retried by the runtime (topology/runtime/sink-flush.ts).
 */
export async function insertRows(
  client: ClickHouseClient,
  table: string,
  rows: readonly object[],
  token: string | undefined,
): Promise<void> {
  if (rows.length === 0) return;
  await client.insert({
    table,
    values: rows,
    format: 'JSONEachRow',
    clickhouse_settings: token === undefined ? {} : { insert_deduplication_token: token },
  });
}
