import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from '../../common/logger';
import type { CorrelationPart } from '../../processors/correlate';
import type { Alert, LogRecord, SpanRecord } from '../../processors/records';
import {
  BatchingSink,
  itemsBetween,
  partitionId,
  type BufferedItem,
  type RangeBatch,
  type SinkBatches,
  type SourceRange,
  type StreamRecord,
} from '../../topology';
import { planReplay, type LedgerEntry, type Segment } from '../replay-plan';
import { deduplicationToken, insertRows } from './insert-rows';
import { TABLES } from './migrations';
import type { PatternBucket, PatternRef } from '../../processors/patterns/pattern-anomalies';
import {
  logPatternRefRow,
  logPatternRow,
  PATTERN_TABLES,
  type LogPatternRefRow,
  type LogPatternRow,
} from './pattern-tables';
import { ClickHouseProgressLedger, type LedgerRecord } from './progress-ledger';
import {
  alertRow,
  correlationPartRow,
  logRow,
  spanRow,
  type AlertRow,
  type CorrelationPartRow,
  type OtelLogRow,
  type OtelTraceRow,
} from './rows';

/**
 * Rows buffered by a sink past its bound should never happen: the runtime ends a run (and flushes)
 * after maxInFlightRecords (20 000 by default) outputs and sink writes, so a sink holds one checkpoint's rows.
 * The bound is a safety net against a misconfiguration or a mapper that explodes a record into very
 * many rows, generous enough never to trip otherwise.
 */
export const DEFAULT_MAX_BUFFERED_ROWS = 200_000;

export interface ClickHouseSinkOptions<K, V, Row extends object> {
  client: ClickHouseClient;
  table: string;
  /** A record's rows (usually one); throwing rejects the record at `write`, where it is attributable. */
  toRows: (record: StreamRecord<K, V>) => Row | readonly Row[];
  /**
   * The sink's name, and its key in the progress ledger: stable across restarts and unique per
   * application and table. Default `clickhouse:<table>`.
   */
  name?: string;
  /** `write` past it throws SinkBufferFullError (topology/errors.ts). */
  maxBufferedRows?: number;
  /**
   * The table collapses a replayed row with its original by itself (a ReplacingMergeTree keyed by
   * the row's identity, with a version that a replay reproduces): then replays need no ledger and
   * no range tokens, and a flush is a single insert. On chDB the ledger's query and two small
   * inserts cost several times a data insert, so this matters for the derived tables.
   */
  collapsesReplays?: boolean;
  log?: Logger;
}

/**
 * A topology sink inserting into one ClickHouse table (otel_logs, otel_traces,
 * stacklens_correlation_parts, stacklens_alerts): BatchingSink (topology/batching-sink.ts) buffers
 * each record's rows by source partition and offset, and `flush(ranges)` inserts them, then the
 * runtime commits the offsets.
 *
 * Replays insert nothing twice (see ../replay-plan.ts): each flushed range is cut along the writes
 * the progress ledger (./progress-ledger.ts) knows of, then for each new write the sink
 * 1. announces it in the ledger (offsets, token, not complete),
 * 2. inserts its rows with insert_deduplication_token = the write's (topic, partition, first, last),
 * 3. confirms it in the ledger (complete),
 * so after a crash anywhere in between, the replay skips what is confirmed, re-inserts an announced
 * write under its own token (ClickHouse drops it if the first insert had landed) and inserts the rest
 * as new writes. The ledger is read once per partition and assignment (one query for all the
 * partitions a flush needs): what it holds from the range's start on, which this sink then keeps up
 * to date with its own writes, since nobody else writes a partition's ledger while this instance
 * owns it. A rebalance (`assigned`) forgets it all, as a partition that came back may carry another
 * instance's writes; so does a failed flush; and a range that does not start where the last
 * successful flush left off (a replay after a failed commit) reads the ledger again. (On chDB a
 * read took ~35 ms here, against ~6 ms for a ledger insert, on every flush of every ledger sink.) Rows written outside any flushed range (a
 * wall-clock punctuation's output, flushed with no range) are inserted without a token, which
 * ClickHouse deduplicates by content instead.
 *
 * Tables that collapse replayed rows themselves (stacklens_correlation_parts, stacklens_alerts) skip all
 * this: see `collapsesReplays`.
 *
 * A failed insert fails the flush, which keeps the rows; the runtime retries the flush, which plans
 * it again from the ledger (an insert that had landed is dropped under its token).
 */
export class ClickHouseSink<K, V, Row extends object> extends BatchingSink<K, V, Row> {
  private readonly ledger: ClickHouseProgressLedger;
  /**
   * Per partition (`topic \0 partition`): the ledger's writes that may hold offsets from `from` on,
   * as read at the first flush after an assignment and kept up to date by this sink's own flushes.
   */
  private known = new Map<string, { from: bigint; entries: readonly LedgerEntry[] }>();
  /** Counts assignments: a flush that began before one must not fill the cache after it. */
  private assignment = 0;

  constructor(private readonly options: ClickHouseSinkOptions<K, V, Row>) {
    super({
      name: options.name ?? `clickhouse:${options.table}`,
      maxBufferedItems: options.maxBufferedRows ?? DEFAULT_MAX_BUFFERED_ROWS,
      itemsName: 'rows',
    });
    this.ledger = new ClickHouseProgressLedger(options.client, this.name);
  }

  /** A rebalance: partitions may come back with writes other instances made meanwhile. */
  assigned(): void {
    this.known = new Map();
    this.assignment += 1;
  }

  protected toItems(record: StreamRecord<K, V>): readonly Row[] {
    const mapped = this.options.toRows(record);
    return Array.isArray(mapped) ? mapped : [mapped as Row];
  }

  protected async writeBatches({ ranged, unranged }: SinkBatches<Row>): Promise<void> {
    const rowsOf = (batches: readonly { items: readonly BufferedItem<Row>[] }[]): Row[] =>
      batches.flatMap(({ items }) => items.map(({ item }) => item));
    if (this.options.collapsesReplays === true) {
      await this.insert([...rowsOf(ranged), ...rowsOf(unranged)], undefined);
      return;
    }
    await this.flushRanges(ranged);
    await this.insert(rowsOf(unranged), undefined);
  }

  /**
   * The ranged writes of one flush, all partitions together: one ledger query, one announcement
   * insert, one data insert per new or replayed write (its own deduplication token), one
   * confirmation insert.
   */
  private async flushRanges(ranged: readonly RangeBatch<Row>[]): Promise<void> {
    if (ranged.length === 0) return;
    const assignment = this.assignment;
    try {
      const known = await this.knownWrites(ranged.map(({ range }) => range));
      const writes = await this.writeRanges(ranged, known);
      if (assignment !== this.assignment) return;
      // What the ledger holds past each range: its entries that end after it, unless this flush
      // shortened one (a truncation), which the next flush reads again.
      for (const [i, { range }] of ranged.entries()) {
        const key = partitionId(range.topic, range.partition);
        const last = BigInt(range.lastOffset);
        if (writes.some((w) => w.range === range && w.segment.kind === 'truncate')) this.known.delete(key);
        else this.known.set(key, { from: last + 1n, entries: (known[i] ?? []).filter((e) => e.last > last) });
      }
    } catch (error) {
      this.known = new Map();
      throw error;
    }
  }

  /** For each range, the ledger's writes that may overlap it: cached, or read for all misses at once. */
  private async knownWrites(ranges: readonly SourceRange[]): Promise<(readonly LedgerEntry[])[]> {
    const cached = ranges.map((range) => {
      const entry = this.known.get(partitionId(range.topic, range.partition));
      return entry !== undefined && entry.from <= BigInt(range.firstOffset) ? entry.entries : undefined;
    });
    const misses = ranges.filter((_, i) => cached[i] === undefined);
    const read = await this.ledger.from(
      misses.map((range) => ({
        topic: range.topic,
        partition: range.partition,
        first: BigInt(range.firstOffset),
      })),
    );
    // The misses were read in range order: each uncached range takes the next answer.
    let next = 0;
    return cached.map((entries) => entries ?? read[next++] ?? []);
  }

  /** Plans each range against the known writes and writes it; returns the writes made. */
  private async writeRanges(
    ranged: readonly RangeBatch<Row>[],
    known: readonly (readonly LedgerEntry[])[],
  ): Promise<Write<Row>[]> {
    const writes: Write<Row>[] = [];
    ranged.forEach(({ range, items }, i) => {
      const span = { first: BigInt(range.firstOffset), last: BigInt(range.lastOffset) };
      for (const segment of planReplay(span, known[i] ?? [])) {
        if (segment.kind === 'skip') continue;
        const rows = itemsBetween(items, segment.first, segment.last).map(({ item }) => item);
        // A new write without rows needs no name: nothing of it can be replayed twice.
        if (segment.kind === 'new' && rows.length === 0) continue;
        writes.push({ range, segment, rows });
      }
    });
    const ledgerRecord = ({ range, segment }: Write<Row>, complete: boolean): LedgerRecord => ({
      topic: range.topic,
      partition: range.partition,
      first: segment.first,
      last: segment.last,
      tokenLast: segment.kind === 'new' ? segment.last : segment.tokenLast,
      complete,
    });
    // Announce before inserting: a write that may have happened must be findable by the replay.
    await this.ledger.record(
      writes.filter(({ segment }) => segment.kind !== 'rewrite').map((w) => ledgerRecord(w, false)),
    );
    for (const { range, segment, rows } of writes) {
      if (segment.kind === 'truncate') {
        this.options.log?.warn(
          { sink: this.name, range, pending: [String(segment.first), String(segment.pendingLast)] },
          'replay is shorter than an unconfirmed insert; if that insert had landed, its rows after the replay end will be inserted again',
        );
      }
      const tokenLast = segment.kind === 'new' ? segment.last : segment.tokenLast;
      await this.insert(
        rows,
        deduplicationToken({
          topic: range.topic,
          partition: range.partition,
          firstOffset: String(segment.first),
          lastOffset: String(tokenLast),
        }),
      );
    }
    await this.ledger.record(writes.map((w) => ledgerRecord(w, true)));
    return writes;
  }

  private insert(rows: readonly Row[], token: string | undefined): Promise<void> {
    return insertRows(this.options.client, this.options.table, rows, token);
  }
}

/** One insert of a flush: a segment of a range (see ../replay-plan.ts) and its rows. */
interface Write<Row> {
  readonly range: SourceRange;
  readonly segment: Exclude<Segment, { kind: 'skip' }>;
  readonly rows: Row[];
}

type TableSinkOptions = Omit<ClickHouseSinkOptions<never, never, object>, 'table' | 'toRows'>;

/** otel_logs from normalized log records. */
export function otelLogsSink<K>(options: TableSinkOptions): ClickHouseSink<K, LogRecord, OtelLogRow> {
  return new ClickHouseSink({ ...options, table: TABLES.logs, toRows: (r) => logRow(r.value) });
}

/** otel_traces from normalized spans. */
export function otelTracesSink<K>(options: TableSinkOptions): ClickHouseSink<K, SpanRecord, OtelTraceRow> {
  return new ClickHouseSink({ ...options, table: TABLES.traces, toRows: (r) => spanRow(r.value) });
}

/**
 * stacklens_correlation_parts: a replayed part has the identity (trace, kind, record id) of its
 * original, and the ReplacingMergeTree keeps one of them (see ./migrations.ts), so no ledger.
 */
export function correlationPartsSink<K>(
  options: TableSinkOptions,
): ClickHouseSink<K, CorrelationPart, CorrelationPartRow> {
  return new ClickHouseSink({
    ...options,
    table: TABLES.correlationParts,
    toRows: (r) => correlationPartRow(r.value),
    collapsesReplays: true,
  });
}

/** stacklens_alerts: a replayed alert has the id and count of its original (ReplacingMergeTree(count)). */
export function alertsSink<K>(options: TableSinkOptions): ClickHouseSink<K, Alert, AlertRow> {
  return new ClickHouseSink({
    ...options,
    table: TABLES.alerts,
    toRows: (r) => alertRow(r.value),
    collapsesReplays: true,
  });
}

/** stacklens_log_patterns: a replayed bucket has the key and count of its original (ReplacingMergeTree(count)). */
export function logPatternsSink<K>(
  options: TableSinkOptions,
): ClickHouseSink<K, PatternBucket, LogPatternRow> {
  return new ClickHouseSink({
    ...options,
    table: PATTERN_TABLES.patterns,
    toRows: (r) => logPatternRow(r.value),
    collapsesReplays: true,
  });
}

/** stacklens_log_pattern_refs: a replayed line has the same row, which ReplacingMergeTree collapses. */
export function logPatternRefsSink<K>(
  options: TableSinkOptions,
): ClickHouseSink<K, PatternRef, LogPatternRefRow> {
  return new ClickHouseSink({
    ...options,
    table: PATTERN_TABLES.refs,
    toRows: (r) => logPatternRefRow(r.value),
    collapsesReplays: true,
  });
}
