import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { spanPart, toCorrelationSpan, type CorrelationPart } from '../../processors/correlate';
import type { LogRecord } from '../../processors/records';
import { ClickHouseSink, correlationPartsSink, otelLogsSink } from '../../sinks/clickhouse/clickhouse-sink';
import { createClickHouse } from '../../sinks/clickhouse/client';
import { deduplicationToken, insertRows } from '../../sinks/clickhouse/insert-rows';
import { DEDUPLICATION_WINDOW, migrate } from '../../sinks/clickhouse/migrations';
import { ClickHouseProgressLedger } from '../../sinks/clickhouse/progress-ledger';
import { SinkBufferFullError } from '../../topology';
import type { StreamRecord } from '../../topology/processor/record';
import { sampleSpan } from '../support/otlp-fixtures';

// The topology ClickHouse sink on chDB, in particular the crash scenarios of ../../sinks/replay-plan.ts:
// a "crash" is a new sink instance (nothing in memory) that gets the same range start again.
describe('ClickHouse topology sink on chDB', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stacklens-chdb-sink-'));
  const TABLE = 'sink_replay_test';
  let ch: ClickHouseClient;
  let run = 0;
  /** A topic of its own per test, so ledgers and rows of tests never meet. */
  let topic: string;

  interface Row {
    id: string;
    part: number;
  }

  beforeAll(async () => {
    ch = await createClickHouse({ database: 'stacklens_sink', chdbPath: dir });
    await migrate(ch);
    await ch.command({
      query: `CREATE TABLE ${TABLE} (id String, part UInt8) ENGINE = MergeTree ORDER BY id
              SETTINGS non_replicated_deduplication_window = ${DEDUPLICATION_WINDOW}`,
    });
  });

  afterAll(async () => {
    await ch.close();
    rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    run += 1;
    topic = `t${run}`;
  });

  /** A new sink instance, as after a restart: two rows per message, so inserts are multi-row. */
  const newSink = (client: ClickHouseClient = ch) =>
    new ClickHouseSink<null, string, Row>({
      client,
      table: TABLE,
      name: 'replay-test',
      toRows: (r) => [
        { id: r.value, part: 0 },
        { id: r.value, part: 1 },
      ],
    });

  const record = <V>(offset: number, value: V): StreamRecord<null, V> => ({
    key: null,
    value,
    timestamp: 0,
    headers: {},
    topic,
    partition: 0,
    offset: String(offset),
  });

  /** Processes offsets first..last into the sink and flushes their range, as one runtime run does. */
  async function run_(sink: ClickHouseSink<null, string, Row>, first: number, last: number): Promise<void> {
    for (let o = first; o <= last; o++) {
      sink.write(record(o, `${topic}-${o}`), { topic, partition: 0, offset: String(o) });
    }
    await sink.flush([{ topic, partition: 0, firstOffset: String(first), lastOffset: String(last) }]);
  }

  /** Row copies per message id; exactly once means every count is 2 (two parts per message). */
  async function copies(): Promise<Record<string, number>> {
    const result = await ch.query({
      query: `SELECT id, count() AS n FROM ${TABLE} WHERE startsWith(id, {prefix:String}) GROUP BY id`,
      query_params: { prefix: `${topic}-` },
      format: 'JSONEachRow',
    });
    const out: Record<string, number> = {};
    for (const row of await result.json<{ id: string; n: string }>()) out[row.id] = Number(row.n);
    return out;
  }

  const once = (first: number, last: number): Record<string, number> => {
    const out: Record<string, number> = {};
    for (let o = first; o <= last; o++) out[`${topic}-${o}`] = 2;
    return out;
  };

  it('writes a range, and after a crash a longer replay adds only the new offsets', async () => {
    await run_(newSink(), 0, 9);
    await run_(newSink(), 0, 14);
    expect(await copies()).toEqual(once(0, 14));
  });

  it('writes nothing for a shorter replay, and after its commit continues past the original end', async () => {
    await run_(newSink(), 0, 9);
    await run_(newSink(), 0, 4); // crash before the commit of 10: replayed, shorter
    expect(await copies()).toEqual(once(0, 9));
    await run_(newSink(), 5, 12); // 5 was committed, then another crash
    expect(await copies()).toEqual(once(0, 12));
  });

  it('replays within one instance (a failed commit) without copies', async () => {
    const sink = newSink();
    await run_(sink, 0, 9);
    await run_(sink, 0, 3);
    await run_(sink, 4, 20);
    await run_(sink, 21, 21);
    expect(await copies()).toEqual(once(0, 21));
  });

  it('reads the ledger once per assignment, and again after a rebalance: the partition may come back with writes another instance made', async () => {
    let ledgerReads = 0;
    // The same client, counting its queries (the sink's only query is the ledger read).
    const client = Object.create(ch) as ClickHouseClient;
    client.query = ((params) => {
      ledgerReads += 1;
      return ch.query(params);
    }) as ClickHouseClient['query'];
    const sink = newSink(client);
    await run_(sink, 0, 9);
    await run_(sink, 10, 19);
    expect(ledgerReads).toBe(1);
    // A rebalance gave the partition to another instance, which wrote 20..29 and crashed before its
    // commit; it comes back here, committed at 20.
    await run_(newSink(), 20, 29);
    sink.assigned();
    await run_(sink, 20, 34);
    expect(ledgerReads).toBe(2);
    expect(await copies()).toEqual(once(0, 34));
  });

  it('redoes an announced insert that never happened, under its own token, then the rest', async () => {
    // Crash after announcing [0, 9], before its insert.
    await new ClickHouseProgressLedger(ch, 'replay-test').record([
      { topic, partition: 0, first: 0n, last: 9n, tokenLast: 9n, complete: false },
    ]);
    await run_(newSink(), 0, 14);
    expect(await copies()).toEqual(once(0, 14));
  });

  it('drops the redone insert when the announced one had landed (crash before its confirmation)', async () => {
    await new ClickHouseProgressLedger(ch, 'replay-test').record([
      { topic, partition: 0, first: 0n, last: 9n, tokenLast: 9n, complete: false },
    ]);
    const rows: Row[] = [];
    for (let o = 0; o <= 9; o++)
      rows.push({ id: `${topic}-${o}`, part: 0 }, { id: `${topic}-${o}`, part: 1 });
    await insertRows(
      ch,
      TABLE,
      rows,
      deduplicationToken({ topic, partition: 0, firstOffset: '0', lastOffset: '9' }),
    );
    await run_(newSink(), 0, 12);
    expect(await copies()).toEqual(once(0, 12));
  });

  it('truncates an announced insert that a shorter replay only partly covers', async () => {
    await new ClickHouseProgressLedger(ch, 'replay-test').record([
      { topic, partition: 0, first: 0n, last: 9n, tokenLast: 9n, complete: false },
    ]);
    await run_(newSink(), 0, 4); // inserts 0..4 under the token of [0, 9]
    await run_(newSink(), 0, 6); // crash before the commit: 0..4 confirmed, skipped; 5..6 new
    await run_(newSink(), 7, 12);
    expect(await copies()).toEqual(once(0, 12));
    expect(
      await new ClickHouseProgressLedger(ch, 'replay-test').from([
        { topic, partition: 0, first: 0n },
        { topic, partition: 1, first: 0n },
      ]),
    ).toEqual([
      [
        { first: 0n, last: 4n, tokenLast: 9n, complete: true },
        { first: 5n, last: 6n, tokenLast: 6n, complete: true },
        { first: 7n, last: 12n, tokenLast: 12n, complete: true },
      ],
      [],
    ]);
  });

  it('finds writes that start inside the flushed range', async () => {
    const sink = newSink();
    await run_(sink, 5, 9);
    await run_(newSink(), 0, 12); // e.g. an offset reset back to 0
    expect(await copies()).toEqual(once(0, 12));
  });

  it('keeps each partition and sink to its own ledger', async () => {
    const sink = newSink();
    for (const partition of [0, 1]) {
      for (let o = 0; o <= 3; o++) {
        sink.write(record(o, `${topic}-p${partition}-${o}`), { topic, partition, offset: String(o) });
      }
    }
    await sink.flush([
      { topic, partition: 0, firstOffset: '0', lastOffset: '3' },
      { topic, partition: 1, firstOffset: '0', lastOffset: '3' },
    ]);
    // Another sink name has no ledger here: same offsets, its own rows.
    const other = new ClickHouseSink<null, string, Row>({
      client: ch,
      table: TABLE,
      name: 'replay-test-other',
      toRows: (r) => ({ id: `${r.value}-other`, part: 0 }),
    });
    other.write(record(0, `${topic}-p0-0`), { topic, partition: 0, offset: '0' });
    await other.flush([{ topic, partition: 0, firstOffset: '0', lastOffset: '0' }]);
    const counts = await copies();
    expect(Object.keys(counts).sort()).toEqual(
      [0, 1]
        .flatMap((p) => [0, 1, 2, 3].map((o) => `${topic}-p${p}-${o}`))
        .concat(`${topic}-p0-0-other`)
        .sort(),
    );
    expect(counts[`${topic}-p1-3`]).toBe(2);
    expect(counts[`${topic}-p0-0-other`]).toBe(1);
  });

  it('inserts rows written outside any flushed range (punctuation output) without a range token', async () => {
    const sink = newSink();
    sink.write(record(7, `${topic}-punctuated`), { topic, partition: 0, offset: '7' });
    await sink.flush([]);
    expect(await copies()).toEqual({ [`${topic}-punctuated`]: 2 });
    expect(sink.bufferedItems).toBe(0);
  });

  it('counts buffered rows, refuses rows past its bound, and forgets them on discard', async () => {
    const sink = new ClickHouseSink<null, string, Row>({
      client: ch,
      table: TABLE,
      toRows: (r) => ({ id: r.value, part: 0 }),
      maxBufferedRows: 2,
    });
    sink.write(record(0, `${topic}-0`), { topic, partition: 0, offset: '0' });
    sink.write(record(1, `${topic}-1`), { topic, partition: 0, offset: '1' });
    expect(sink.bufferedItems).toBe(2);
    expect(() => sink.write(record(2, `${topic}-2`), { topic, partition: 0, offset: '2' })).toThrow(
      SinkBufferFullError,
    );
    sink.discard();
    expect(sink.bufferedItems).toBe(0);
    await sink.flush([{ topic, partition: 0, firstOffset: '0', lastOffset: '2' }]);
    expect(await copies()).toEqual({});
  });

  it('keeps the rows of a failed flush, and the retried flush writes them once', async () => {
    const sink = new ClickHouseSink<null, string, Row>({
      client: ch,
      table: 'sink_replay_missing',
      name: 'replay-test-fail',
      toRows: (r) => ({ id: r.value, part: 0 }),
    });
    sink.write(record(0, `${topic}-0`), { topic, partition: 0, offset: '0' });
    const range = { topic, partition: 0, firstOffset: '0', lastOffset: '0' };
    await expect(sink.flush([range])).rejects.toThrow();
    expect(sink.bufferedItems).toBe(1);
    await ch.command({
      query: `CREATE TABLE sink_replay_missing (id String, part UInt8) ENGINE = MergeTree ORDER BY id SETTINGS non_replicated_deduplication_window = 100`,
    });
    await sink.flush([range]);
    await sink.flush([range]); // nothing buffered any more
    const result = await ch.query({ query: 'SELECT id FROM sink_replay_missing', format: 'JSONEachRow' });
    expect(await result.json()).toEqual([{ id: `${topic}-0` }]);
  });

  it('leaves replays of correlation parts to the table, which keeps one row per trace and record', async () => {
    const trace = `${topic}`.padStart(32, '0');
    const first = correlationPartsSink<null>({ client: ch });
    first.write(record(0, part(trace, 's-1')), { topic, partition: 0, offset: '0' });
    await first.flush([{ topic, partition: 0, firstOffset: '0', lastOffset: '0' }]);
    const replay = correlationPartsSink<null>({ client: ch });
    replay.write(record(0, part(trace, 's-1')), { topic, partition: 0, offset: '0' });
    replay.write(record(1, part(trace, 's-2')), { topic, partition: 0, offset: '1' });
    await replay.flush([{ topic, partition: 0, firstOffset: '0', lastOffset: '1' }]);
    const result = await ch.query({
      query: 'SELECT span_count, version FROM stacklens_correlations WHERE trace_id = {trace:String}',
      query_params: { trace },
      format: 'JSONEachRow',
    });
    expect(await result.json()).toEqual([{ span_count: 2, version: '2' }]);
    const ledger = await new ClickHouseProgressLedger(ch, 'clickhouse:stacklens_correlation_parts').from([
      { topic, partition: 0, first: 0n },
    ]);
    expect(ledger).toEqual([[]]);
  });

  it('writes otel_logs through the table sink', async () => {
    const sink = otelLogsSink<null>({ client: ch });
    sink.write(record(0, logRecord(`${topic}-log`)), { topic, partition: 0, offset: '0' });
    await sink.flush([{ topic, partition: 0, firstOffset: '0', lastOffset: '0' }]);
    const replay = otelLogsSink<null>({ client: ch });
    replay.write(record(0, logRecord(`${topic}-log`)), { topic, partition: 0, offset: '0' });
    await replay.flush([{ topic, partition: 0, firstOffset: '0', lastOffset: '0' }]);
    const result = await ch.query({
      query: 'SELECT Body, ServiceName FROM otel_logs WHERE StackLensRecordId = {id:String}',
      query_params: { id: `${topic}-log` },
      format: 'JSONEachRow',
    });
    expect(await result.json()).toEqual([{ Body: 'hello', ServiceName: 'checkout' }]);
  });
});

function logRecord(id: string): LogRecord {
  return {
    service: 'checkout',
    env: 'prod',
    workflow_id: '',
    circuit_id: '',
    product_id: '',
    resource_id: '',
    resource_type_id: '',
    request_id: '',
    error_code: '',
    gen_ai_input_tokens: 0,
    gen_ai_output_tokens: 0,
    redacted_count: 0,
    id,
    source: 'otlp_proto',
    time_unix_nano: '1795334400123456789',
    observed_time_unix_nano: '1795334400123456789',
    time_ms: 1795334400123,
    trace_id: '0af7651916cd43dd8448eb211c80319c',
    span_id: 'b7ad6b7169203331',
    trace_flags: 1,
    severity_number: 9,
    severity_text: 'INFO',
    body: 'hello',
    event_name: '',
    resource_schema_url: '',
    resource_attributes: { 'service.name': 'checkout' },
    scope_name: 'test',
    scope_version: '',
    scope_schema_url: '',
    scope_attributes: {},
    log_attributes: {},
  };
}

function part(traceId: string, spanId: string): CorrelationPart {
  return spanPart(toCorrelationSpan(sampleSpan({ trace_id: traceId, span_id: spanId })));
}
