import type { ClickHouseClient } from '@clickhouse/client';
import type { LedgerEntry } from '../replay-plan';
import { TABLES } from './migrations';

/** One ledger row: a write announced (complete false) or confirmed (complete true). */
export interface LedgerRecord {
  readonly topic: string;
  readonly partition: number;
  readonly first: bigint;
  readonly last: bigint;
  readonly tokenLast: bigint;
  readonly complete: boolean;
}

/** A source partition's offsets from `first` on (a flush's range starts there). */
export interface LedgerStart {
  readonly topic: string;
  readonly partition: number;
  readonly first: bigint;
}

interface LedgerRow {
  first: string;
  last: string;
  token_last: string;
  complete: number;
}

/**
 * The ClickHouse sinks' ledger, kept in stacklens_sink_progress (see ./migrations.ts) so every
 * instance of the application sees what any other did before it crashed. Keyed by sink name: two
 * sinks must not share a name (it is also in the dedup token's scope: the table).
 */
export class ClickHouseProgressLedger {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly sink: string,
  ) {}

  /**
   * For each start, the writes of its partition that may hold offsets from `first` on: the write
   * starting at or before `first` with the highest start (the only one that can contain `first`, as
   * writes of a partition never overlap), and every write starting after it (all of them from 0 when
   * no write starts at or before `first`; an empty scalar subquery is NULL). Usually none or one: a
   * write a crashed owner made past the committed offset. A write's rows are aggregated: it ends at
   * its lowest recorded end (a truncation only shortens), and is complete once confirmed. One query
   * for all the partitions asked.
   */
  async from(starts: readonly LedgerStart[]): Promise<LedgerEntry[][]> {
    if (starts.length === 0) return [];
    const params: Record<string, string | number> = { sink: this.sink };
    const parts = starts.map(({ topic, partition, first }, i) => {
      Object.assign(params, {
        [`topic${i}`]: topic,
        [`partition${i}`]: partition,
        [`first${i}`]: first.toString(),
      });
      const where = `sink = {sink:String} AND topic = {topic${i}:String} AND partition = {partition${i}:UInt32}`;
      return `
        SELECT ${i} AS range_index,
               toString(first_offset) AS first,
               toString(min(last_offset)) AS last,
               toString(max(token_last_offset)) AS token_last,
               max(complete) AS complete
        FROM ${TABLES.sinkProgress}
        WHERE ${where}
          AND first_offset >= ifNull((
            SELECT first_offset FROM ${TABLES.sinkProgress}
            WHERE ${where} AND first_offset <= {first${i}:UInt64}
            ORDER BY first_offset DESC
            LIMIT 1
          ), 0)
        GROUP BY first_offset`;
    });
    const result = await this.client.query({
      query: `SELECT * FROM (${parts.join('\n UNION ALL \n')}) ORDER BY range_index, toUInt64(first)`,
      query_params: params,
      format: 'JSONEachRow',
    });
    const entries: LedgerEntry[][] = starts.map(() => []);
    for (const row of await result.json<LedgerRow & { range_index: number | string }>()) {
      entries[Number(row.range_index)]?.push({
        first: BigInt(row.first),
        last: BigInt(row.last),
        tokenLast: BigInt(row.token_last),
        complete: Number(row.complete) === 1,
      });
    }
    return entries;
  }

  async record(records: readonly LedgerRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.client.insert({
      table: TABLES.sinkProgress,
      format: 'JSONEachRow',
      values: records.map((r) => ({
        sink: this.sink,
        topic: r.topic,
        partition: r.partition,
        first_offset: r.first.toString(),
        last_offset: r.last.toString(),
        token_last_offset: r.tokenLast.toString(),
        complete: r.complete ? 1 : 0,
      })),
    });
  }
}
