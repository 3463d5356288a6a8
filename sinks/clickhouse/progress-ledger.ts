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
   * The writes of the partition that may overlap first..last: the write starting at or before
   * `first` with the highest start (the only one that can contain `first`, as writes of a partition
   * never overlap), and every write starting inside the range (all of them from 0 when no write
   * starts at or before `first`; an empty scalar subquery is NULL). A write's rows are aggregated: it
   * ends at its lowest recorded end (a truncation only shortens), and is complete once confirmed.
   */
  async overlapping(topic: string, partition: number, first: bigint, last: bigint): Promise<LedgerEntry[]> {
    const result = await this.client.query({
      query: `
        SELECT toString(first_offset) AS first,
               toString(min(last_offset)) AS last,
               toString(max(token_last_offset)) AS token_last,
               max(complete) AS complete
        FROM ${TABLES.sinkProgress}
        WHERE sink = {sink:String} AND topic = {topic:String} AND partition = {partition:UInt32}
          AND first_offset <= {last:UInt64}
          AND first_offset >= ifNull((
            SELECT first_offset FROM ${TABLES.sinkProgress}
            WHERE sink = {sink:String} AND topic = {topic:String} AND partition = {partition:UInt32}
              AND first_offset <= {first:UInt64}
            ORDER BY first_offset DESC
            LIMIT 1
          ), 0)
        GROUP BY first_offset
        ORDER BY first_offset`,
      query_params: { sink: this.sink, topic, partition, first: first.toString(), last: last.toString() },
      format: 'JSONEachRow',
    });
    const rows = await result.json<LedgerRow>();
    return rows.map((row) => ({
      first: BigInt(row.first),
      last: BigInt(row.last),
      tokenLast: BigInt(row.token_last),
      complete: Number(row.complete) === 1,
    }));
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
