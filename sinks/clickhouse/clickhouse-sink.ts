import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from '../../common/logger';
import type { CorrelationPart } from '../../processors/correlate';
import type { Alert, LogRecord, SpanRecord } from '../../processors/records';
import {
  BatchingSink,
  itemsBetween,
  type BufferedItem,
  type RangeBatch,
  type SinkBatches,
  type SourceRange,
  type StreamRecord,
} from '../../topology';
import { planReplay, type Segment } from '../replay-plan';
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
 * as new writes. The ledger is read on every flush, one query for all its partitions: the Sink
 * contract does not tell a sink when a partition was assigned to it, and a partition that came back
 * from another instance may carry that instance's announced writes, so a cache could not be
 * trusted. Rows written outside any flushed range (a wall-clock punctuation's output, flushed with
 * no range) are inserted without a token, which ClickHouse deduplicates by content instead.
 *
 * Tables that collapse replayed rows themselves (stacklens_correlation_parts, stacklens_alerts) skip all
 * this: see `collapsesReplays`.
 *
 * A failed insert fails the flush, which keeps the rows; the runtime retries the flush, which plans
 * it again from the ledger (an insert that had landed is dropped under its token).
 */
export class ClickHouseSink<K, V, Row extends object> extends BatchingSink<K, V, Row> {
  private readonly ledger: ClickHouseProgressLedger;

  constructor(private readonly options: ClickHouseSinkOptions<K, V, Row>) {
    super({
      name: options.name ?? `clickhouse:${options.table}`,
      maxBufferedItems: options.maxBufferedRows ?? DEFAULT_MAX_BUFFERED_ROWS,
      itemsName: 'rows',
    });
    this.ledger = new ClickHouseProgressLedger(options.client, this.name);
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
    const known = await this.ledger.overlapping(
      ranged.map(({ range }) => ({
        topic: range.topic,
        partition: range.partition,
        first: BigInt(range.firstOffset),
        last: BigInt(range.lastOffset),
      })),
    );
    type Write = { range: SourceRange; segment: Exclude<Segment, { kind: 'skip' }>; rows: Row[] };
    const writes: Write[] = [];
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
    const ledgerRecord = ({ range, segment }: Write, complete: boolean): LedgerRecord => ({
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
  }

  private insert(rows: readonly Row[], token: string | undefined): Promise<void> {
    return insertRows(this.options.client, this.options.table, rows, token);
  }
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
