import { setTimeout as delay } from 'node:timers/promises';
import type { ClickHouseClient } from '@clickhouse/client';
import { StackLensError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import { sourceRangeLabel, type SourceRange } from '../source-range';

/** `add` would take the buffer past its bound: flush first. */
export class BufferFullError extends StackLensError {}

/** `add` or `flush` was called while a flush of the same writer is still running. */
export class FlushInProgressError extends StackLensError {}

/** An insert still failed after every retry; the rows stay buffered. */
export class ClickHouseWriteError extends StackLensError {}

/** Options a writer cannot work with. */
export class BatchWriterConfigError extends StackLensError {}

export interface RetryPolicy {
  /** Insert attempts in total, the first one included. */
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, initialDelayMs: 250, maxDelayMs: 8_000 };

export interface BatchWriterOptions {
  client: ClickHouseClient;
  table: string;
  /** Most rows the buffer holds; a bound on memory while ClickHouse is slow or down. */
  maxBufferedRows: number;
  retry?: Partial<RetryPolicy>;
  log?: Logger;
  /** Called before each retry (for metrics), after the failure is logged. */
  onRetry?: (failure: { attempt: number; delayMs: number; error: unknown }) => void | Promise<void>;
}

export interface FlushResult {
  rows: number;
  /** The insert_deduplication_token the rows were inserted with. */
  token: string;
}

/** The insert's deduplication token: the source range, so the same range always gets the same one. */
export function deduplicationToken(source: SourceRange): string {
  return `stacklens:${sourceRangeLabel(source)}`;
}

/**
 * Buffers rows for one table and inserts them as one JSONEachRow insert per flush.
 *
 * The caller decides when to flush (by size or time, typically before committing Kafka offsets)
 * and says which source range the buffered rows came from. The range becomes the insert's
 * `insert_deduplication_token`, so every retry of a flush, and a replay of the same range after a
 * crash, is dropped by ClickHouse instead of doubling rows (the tables set
 * non_replicated_deduplication_window, see ./migrations.ts). An empty flush inserts nothing.
 *
 * A failed insert is retried with exponential backoff; when the attempts run out, flush throws
 * ClickHouseWriteError and keeps the rows, so the caller can flush the same range again later.
 * One flush at a time: `add` and `flush` throw while a flush is running (await it first).
 */
export class BatchWriter<Row extends object> {
  private rows: Row[] = [];
  private flushing = false;
  private readonly retry: RetryPolicy;

  constructor(private readonly options: BatchWriterOptions) {
    if (!Number.isInteger(options.maxBufferedRows) || options.maxBufferedRows < 1) {
      throw new BatchWriterConfigError(
        `maxBufferedRows must be a positive integer, got ${options.maxBufferedRows}`,
      );
    }
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
  }

  get size(): number {
    return this.rows.length;
  }

  /** Rows that can still be added before the buffer is full. */
  get remainingCapacity(): number {
    return this.options.maxBufferedRows - this.rows.length;
  }

  add(rows: readonly Row[]): void {
    this.assertIdle('add');
    if (rows.length > this.remainingCapacity) {
      throw new BufferFullError(
        `${this.options.table}: buffer holds ${this.rows.length} of ${this.options.maxBufferedRows} rows, cannot add ${rows.length}`,
      );
    }
    for (const row of rows) this.rows.push(row);
  }

  async flush(source: SourceRange): Promise<FlushResult> {
    const token = deduplicationToken(source);
    return { rows: await this.flushWithToken(token), token };
  }

  /**
   * Inserts the buffered rows under `token` (see ../replay-plan.ts for how the ClickHouse sink
   * chooses it); without a token, ClickHouse deduplicates by the block's content hash instead.
   * Returns the number of rows inserted; on failure the rows stay buffered, as with `flush`.
   */
  async flushWithToken(token: string | undefined): Promise<number> {
    this.assertIdle('flush');
    if (this.rows.length === 0) return 0;
    this.flushing = true;
    try {
      await this.insertWithRetries(this.rows, token);
      const rows = this.rows.length;
      this.rows = [];
      return rows;
    } finally {
      this.flushing = false;
    }
  }

  /** Drops the buffered rows (their writer gave up on them, e.g. to plan the flush again). */
  clear(): void {
    this.assertIdle('clear');
    this.rows = [];
  }

  private async insertWithRetries(rows: Row[], token: string | undefined): Promise<void> {
    const { client, table, log, onRetry } = this.options;
    for (let attempt = 1; ; attempt++) {
      try {
        await client.insert({
          table,
          values: rows,
          format: 'JSONEachRow',
          clickhouse_settings: token === undefined ? {} : { insert_deduplication_token: token },
        });
        return;
      } catch (error) {
        if (attempt >= this.retry.attempts) {
          throw new ClickHouseWriteError(
            `insert of ${rows.length} rows into ${table} failed ${attempt} times (token ${token ?? 'none'})`,
            {
              cause: error,
            },
          );
        }
        const delayMs = Math.min(this.retry.maxDelayMs, this.retry.initialDelayMs * 2 ** (attempt - 1));
        log?.warn(
          { table, token, attempt, delayMs, err: errorMessage(error) },
          'ClickHouse insert failed, retrying',
        );
        await onRetry?.({ attempt, delayMs, error });
        await delay(delayMs);
      }
    }
  }

  private assertIdle(operation: string): void {
    if (this.flushing)
      throw new FlushInProgressError(`${this.options.table}: cannot ${operation} while a flush is running`);
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
