import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import {
  emptyCorrelation,
  foldLog,
  foldSpan,
  logPart,
  spanPart,
  toCorrelationLog,
  toCorrelationSpan,
} from '../../processors/correlate';
import type { Alert, LogRecord, SpanRecord } from '../../processors/records';
import { sampleLog, sampleSpan } from '../support/otlp-fixtures';
import {
  alertsSink,
  ClickHouseSink,
  otelLogsSink,
  otelTracesSink,
} from '../../sinks/clickhouse/clickhouse-sink';
import { createClickHouse } from '../../sinks/clickhouse/client';
import { deduplicationToken, insertRows } from '../../sinks/clickhouse/insert-rows';
import {
  KEEP_FOREVER,
  REPLACED_CORRELATIONS_TABLE,
  TABLES,
  migrate,
  schemaStatements,
} from '../../sinks/clickhouse/migrations';
import { correlationPartRow, logRow } from '../../sinks/clickhouse/rows';
import type { SourceRange } from '../../sinks/source-range';
import { BatchAbandonedError, type Sink } from '../../topology';
import { flushSinks, type FlushRetry } from '../../topology/runtime/sink-flush';

// The ClickHouse sinks against chDB: migrations, the row mapping, insert deduplication and a failing
// sink under the runtime's flush retry, read back with plain SQL the way Grafana and the API read the tables.
describe('ClickHouse sinks on chDB', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stacklens-chdb-sinks-'));
  let ch: ClickHouseClient;

  beforeAll(async () => {
    ch = await createClickHouse({ database: 'stacklens_sinks', chdbPath: dir });
    await migrate(ch);
  });

  afterAll(async () => {
    await ch.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function rows<T>(query: string, query_params: Record<string, unknown> = {}): Promise<T[]> {
    return (await ch.query({ query, query_params, format: 'JSONEachRow' })).json<T>();
  }

  const range = (firstOffset: string, lastOffset: string, topic = 'otel-logs'): SourceRange => ({
    topic,
    partition: 0,
    firstOffset,
    lastOffset,
  });

  /** Writes `values` at consecutive offsets from `first` of partition 0, as one checkpoint's records. */
  function writeAll<V>(sink: Sink<null, V>, topic: string, first: number, values: readonly V[]): SourceRange {
    values.forEach((value, i) => {
      const source = { topic, partition: 0, offset: String(first + i) };
      sink.write({ key: null, value, timestamp: 0, headers: {}, ...source }, source);
    });
    return range(String(first), String(first + values.length - 1), topic);
  }

  /** The runtime's flush retry (topology/runtime/sink-flush.ts) with short backoffs. */
  const retry = (overrides: Partial<FlushRetry>): FlushRetry => ({
    initialBackoffMs: 10,
    maxBackoffMs: 20,
    keepAlive: () => Promise.resolve(),
    shouldContinue: () => true,
    onRetry: () => undefined,
    ...overrides,
  });

  it('migrates idempotently: a second run changes nothing and keeps the data', async () => {
    await ch.insert({ table: TABLES.logs, values: [logRow(log('migrate-check'))], format: 'JSONEachRow' });
    const before = await rows(
      'SELECT name, create_table_query FROM system.tables WHERE database = currentDatabase() ORDER BY name',
    );

    await migrate(ch);

    expect(
      await rows(
        'SELECT name, create_table_query FROM system.tables WHERE database = currentDatabase() ORDER BY name',
      ),
    ).toEqual(before);
    expect(before.map((t) => (t as { name: string }).name)).toEqual([
      'otel_logs',
      'otel_traces',
      'otel_traces_trace_id_ts',
      'otel_traces_trace_id_ts_mv',
      'stacklens_alerts',
      'stacklens_correlation_parts',
      'stacklens_correlations',
      'stacklens_log_pattern_refs',
      'stacklens_log_patterns',
      'stacklens_sink_progress',
    ]);
    expect(
      await rows('SELECT count() AS n FROM otel_logs WHERE StackLensRecordId = {id:String}', {
        id: 'migrate-check',
      }),
    ).toEqual([{ n: '1' }]);
    for (const fullTextSearch of [true, false]) {
      expect(
        schemaStatements({ fullTextSearch, retention: KEEP_FOREVER }).every((statement) =>
          /IF NOT EXISTS/.test(statement),
        ),
      ).toBe(true);
    }
  });

  it('has the exporter column types Grafana expects', async () => {
    const columns = await rows<{ table: string; name: string; type: string }>(
      `SELECT table, name, type FROM system.columns
       WHERE database = currentDatabase() AND table IN ('otel_logs', 'otel_traces') AND name IN {names:Array(String)}
       ORDER BY table, name`,
      {
        names: [
          'Timestamp',
          'ServiceName',
          'LogAttributes',
          'Duration',
          'Events.Timestamp',
          'Links.Attributes',
        ],
      },
    );
    expect(columns).toEqual([
      { table: 'otel_logs', name: 'LogAttributes', type: 'Map(LowCardinality(String), String)' },
      { table: 'otel_logs', name: 'ServiceName', type: 'LowCardinality(String)' },
      { table: 'otel_logs', name: 'Timestamp', type: 'DateTime64(9)' },
      { table: 'otel_traces', name: 'Duration', type: 'UInt64' },
      { table: 'otel_traces', name: 'Events.Timestamp', type: 'Array(DateTime64(9))' },
      { table: 'otel_traces', name: 'Links.Attributes', type: 'Array(Map(LowCardinality(String), String))' },
      { table: 'otel_traces', name: 'ServiceName', type: 'LowCardinality(String)' },
      { table: 'otel_traces', name: 'Timestamp', type: 'DateTime64(9)' },
    ]);
  });

  describe('logs', () => {
    it('inserts a flush as rows readable by time, service and attribute', async () => {
      const sink = otelLogsSink<null>({ client: ch });
      const flushed = writeAll(sink, 'otel-logs', 10, [
        log('l-1', { body: 'first' }),
        log('l-2', { body: 'second', time_unix_nano: '1795334400999999999' }),
      ]);

      await sink.flush([flushed]);

      expect(sink.bufferedItems).toBe(0);
      expect(
        await rows(
          `SELECT StackLensRecordId AS id, Body, toUnixTimestamp64Nano(Timestamp) AS ns, toDateTime(Timestamp) AS seconds, LogAttributes['http.route'] AS route,
                  \`__otel_materialized_deployment.environment.name\` AS env
           FROM otel_logs WHERE StackLensRecordId IN {ids:Array(String)} ORDER BY Timestamp`,
          { ids: ['l-1', 'l-2'] },
        ),
      ).toEqual([
        {
          id: 'l-1',
          Body: 'first',
          ns: '1795334400123456789',
          seconds: '2026-11-22 08:00:00',
          route: '/pay',
          env: 'prod',
        },
        {
          id: 'l-2',
          Body: 'second',
          ns: '1795334400999999999',
          seconds: '2026-11-22 08:00:00',
          route: '/pay',
          env: 'prod',
        },
      ]);
    });

    it('drops an insert repeated under the same range token (a retry whose first insert landed)', async () => {
      const batch = [logRow(log('r-1')), logRow(log('r-2'))];
      const token = deduplicationToken(range('20', '21'));
      expect(token).toBe('stacklens:otel-logs-0-20-21');
      await insertRows(ch, TABLES.logs, batch, token);
      await insertRows(ch, TABLES.logs, batch, token);

      expect(
        await rows('SELECT count() AS n FROM otel_logs WHERE StackLensRecordId IN {ids:Array(String)}', {
          ids: ['r-1', 'r-2'],
        }),
      ).toEqual([{ n: '2' }]);
    });

    it('inserts the same rows again when they come from another range', async () => {
      const batch = [logRow(log('same-content'))];
      await insertRows(ch, TABLES.logs, batch, deduplicationToken(range('30', '30')));
      await insertRows(ch, TABLES.logs, batch, deduplicationToken(range('31', '31')));

      expect(
        await rows('SELECT count() AS n FROM otel_logs WHERE StackLensRecordId = {id:String}', {
          id: 'same-content',
        }),
      ).toEqual([{ n: '2' }]);
    });
  });

  describe('a failing sink under the runtime flush retry', () => {
    const sinkInto = (table: string) =>
      new ClickHouseSink<null, number, { id: number }>({
        client: ch,
        table,
        toRows: (r) => ({ id: r.value }),
      });

    it('retries the flush until the insert succeeds, and writes the rows once', async () => {
      const failures: number[] = [];
      let created: Promise<unknown> | undefined;
      const sink = sinkInto('created_late');
      const flushed = writeAll(sink, 'created-late', 0, [1, 2]);

      await flushSinks(
        [sink as Sink<unknown, unknown>],
        [flushed],
        retry({
          // The table is missing at the first flush; it is created at the failure, and the runtime's
          // keepAlive (awaited before each retry) waits for it, so the retried flush succeeds.
          onRetry: (_sink, attempt) => {
            failures.push(attempt);
            created ??= ch.command({
              query: `CREATE TABLE IF NOT EXISTS created_late (id UInt32) ENGINE = MergeTree ORDER BY id
                      SETTINGS non_replicated_deduplication_window = 100`,
            });
          },
          keepAlive: async () => {
            await created;
          },
        }),
      );

      expect(failures).toEqual([1]);
      expect(sink.bufferedItems).toBe(0);
      expect(await rows('SELECT id FROM created_late ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }]);
    });

    it('keeps the rows when the runtime gives the flush up', async () => {
      const attempts: number[] = [];
      const sink = sinkInto('never_created');
      const flushed = writeAll(sink, 'never-created', 0, [1]);
      let retries = 2;

      await expect(
        flushSinks(
          [sink as Sink<unknown, unknown>],
          [flushed],
          retry({
            onRetry: (_sink, attempt) => attempts.push(attempt),
            shouldContinue: () => retries-- > 0,
          }),
        ),
      ).rejects.toBeInstanceOf(BatchAbandonedError);
      expect(attempts).toEqual([1, 2]);
      expect(sink.bufferedItems).toBe(1);
    });
  });

  it('writes spans with events and links, and fills the trace-id lookup', async () => {
    const sink = otelTracesSink<null>({ client: ch });
    await sink.flush([
      writeAll(sink, 'otel-traces', 0, [
        span('s-1', '1795334400000000000'),
        span('s-2', '1795334460000000000'),
      ]),
    ]);

    expect(
      await rows(
        `SELECT SpanId, Duration, Events.Name AS events, arrayMap(t -> toUnixTimestamp64Nano(t), Events.Timestamp) AS event_ns, Links.TraceId AS links
         FROM otel_traces WHERE TraceId = {trace:String} ORDER BY Timestamp`,
        { trace: TRACE },
      ),
    ).toEqual([
      {
        SpanId: 's-1',
        Duration: '250000000',
        events: ['retry'],
        event_ns: ['1795334400100000000'],
        links: ['11111111111111111111111111111111'],
      },
      {
        SpanId: 's-2',
        Duration: '250000000',
        events: ['retry'],
        event_ns: ['1795334400100000000'],
        links: ['11111111111111111111111111111111'],
      },
    ]);
    expect(
      await rows(
        'SELECT min(Start) AS start, max(End) AS end FROM otel_traces_trace_id_ts WHERE TraceId = {trace:String}',
        { trace: TRACE },
      ),
    ).toEqual([{ start: '2026-11-22 08:00:00', end: '2026-11-22 08:01:00' }]);
  });

  it("merges a trace's parts into the correlation processors/correlate folds, whatever their order and repeats", async () => {
    const trace = '5bf92f3577b34da6a3ce929d0e0e4737';
    const spans = [
      sampleSpan({ trace_id: trace, span_id: 'b000000000000002', parent_span_id: '', name: 'GET /b' }),
      sampleSpan({ trace_id: trace, span_id: 'a000000000000001', parent_span_id: '', name: 'POST /pay' }),
      sampleSpan({
        trace_id: trace,
        span_id: 'c000000000000003',
        parent_span_id: 'a000000000000001',
        service: 'payments',
        start_time_unix_nano: '1768473000400000000',
        end_time_unix_nano: '1768473000900000000',
        status_code: 'Error',
        status_message: 'gateway timeout',
        error_code: 'TIMEOUT',
        gen_ai_input_tokens: 7,
        gen_ai_output_tokens: 11,
      }),
    ].map((span) => toCorrelationSpan(span));
    const logs = [
      sampleLog({ trace_id: trace, id: 'otel-logs:0:2:0', service: 'cart' }),
      sampleLog({
        trace_id: trace,
        id: 'otel-logs:0:1:0',
        severity_number: 17,
        body: 'card declined',
        error_code: 'PAYMENT_FAILURE',
        time_unix_nano: '1768473000300000000',
      }),
      sampleLog({
        trace_id: trace,
        id: 'otel-logs:1:5:3',
        severity_number: 13,
        time_unix_nano: '1768473001000000000',
      }),
    ].map((log) => toCorrelationLog(log));
    const expected = emptyCorrelation(trace);
    for (const span of spans) foldSpan(expected, span);
    for (const log of logs) foldLog(expected, log);

    // Three inserts in another order, each part at least once, some twice (a replay, a retry).
    const parts = [...spans.map(spanPart), ...logs.map(logPart)].map(correlationPartRow);
    await ch.insert({
      table: TABLES.correlationParts,
      values: [parts[4]!, parts[2]!],
      format: 'JSONEachRow',
    });
    await ch.insert({
      table: TABLES.correlationParts,
      values: [parts[5]!, parts[0]!, parts[2]!],
      format: 'JSONEachRow',
    });
    await ch.insert({
      table: TABLES.correlationParts,
      values: [parts[1]!, parts[3]!, parts[4]!],
      format: 'JSONEachRow',
    });

    const [row] = await rows<Record<string, unknown>>(
      `SELECT *, toString(toUnixTimestamp64Nano(start_time)) AS start_ns, toString(toUnixTimestamp64Nano(end_time)) AS end_ns,
              toString(toUnixTimestamp64Nano(first_error_time)) AS first_error_ns
       FROM stacklens_correlations WHERE trace_id = {trace:String}`,
      { trace },
    );
    expect(row).toMatchObject({
      trace_id: trace,
      root_span_id: expected.root_span_id,
      root_span_name: expected.root_span_name,
      root_service: expected.root_service,
      services: expected.services,
      start_ns: expected.start_time_unix_nano,
      end_ns: expected.end_time_unix_nano,
      duration_ns: expected.duration_ns,
      span_count: expected.span_count,
      error_count: expected.error_count,
      log_count: expected.log_count,
      log_counts: expected.log_counts,
      first_error_message: expected.first_error_message,
      first_error_ns: expected.first_error_time_unix_nano,
      first_error_code: expected.first_error_code,
      gen_ai_input_tokens: String(expected.gen_ai_input_tokens),
      gen_ai_output_tokens: String(expected.gen_ai_output_tokens),
      log_ids: expected.log_ids,
      log_ids_dropped: expected.log_ids_dropped,
      version: String(expected.version),
    });
    expect(expected).toMatchObject({ root_span_id: 'a000000000000001', span_count: 3, log_count: 3 });
    expect(expected.first_error_message).toBe('card declined');
  });

  it('stores alerts with UTC times and keeps the highest count of a re-emitted alert', async () => {
    const sink = alertsSink<null>({ client: ch });
    await sink.flush([writeAll(sink, 'stacklens-alerts', 0, [alert(1), alert(4)])]);

    expect(
      await rows(
        'SELECT id, count, created_at, window_start, related_trace_id, automation_action FROM stacklens_alerts FINAL WHERE id = {id:String}',
        {
          id: 'alert-1',
        },
      ),
    ).toEqual([
      {
        id: 'alert-1',
        count: 4,
        created_at: '2025-01-15 10:31:00.000',
        window_start: '2025-01-15 10:30:00.000',
        related_trace_id: TRACE,
        automation_action: '',
      },
    ]);
  });

  // Last: it replaces the database's correlations view with a table of the previous version.
  it('moves a one-row-per-trace stacklens_correlations table of an earlier version aside for the view', async () => {
    await ch.command({ query: 'DROP VIEW stacklens_correlations' });
    await ch.command({
      query: `CREATE TABLE stacklens_correlations (trace_id String, version UInt64)
              ENGINE = ReplacingMergeTree(version) ORDER BY trace_id`,
    });
    await ch.insert({
      table: 'stacklens_correlations',
      values: [{ trace_id: 'old', version: 3 }],
      format: 'JSONEachRow',
    });

    await migrate(ch);
    await migrate(ch); // and once moved, a start leaves both alone

    expect(
      await rows(
        `SELECT name, engine FROM system.tables WHERE database = currentDatabase()
         AND name LIKE 'stacklens_correlations%' ORDER BY name`,
      ),
    ).toEqual([
      { name: 'stacklens_correlations', engine: 'View' },
      { name: REPLACED_CORRELATIONS_TABLE, engine: 'ReplacingMergeTree' },
    ]);
    expect(await rows(`SELECT trace_id, version FROM ${REPLACED_CORRELATIONS_TABLE}`)).toEqual([
      { trace_id: 'old', version: '3' },
    ]);
  });
});

const TRACE = '0af7651916cd43dd8448eb211c80319c';

const custom = {
  service: 'checkout',
  env: 'prod',
  workflow_id: '',
  circuit_id: '',
  product_id: '',
  resource_id: '',
  resource_type_id: '',
  request_id: '',
};
const enrichment = { error_code: '', gen_ai_input_tokens: 0, gen_ai_output_tokens: 0, redacted_count: 0 };

function log(id: string, overrides: Partial<LogRecord> = {}): LogRecord {
  return {
    ...custom,
    ...enrichment,
    id,
    source: 'otlp_proto',
    time_unix_nano: '1795334400123456789',
    observed_time_unix_nano: '1795334400123456789',
    time_ms: 1795334400123,
    trace_id: TRACE,
    span_id: 'b7ad6b7169203331',
    trace_flags: 1,
    severity_number: 9,
    severity_text: 'INFO',
    body: 'hello',
    event_name: '',
    resource_schema_url: '',
    resource_attributes: { 'service.name': 'checkout', 'deployment.environment.name': 'prod' },
    scope_name: 'test',
    scope_version: '',
    scope_schema_url: '',
    scope_attributes: {},
    log_attributes: { 'http.route': '/pay' },
    ...overrides,
  };
}

function span(spanId: string, start: string): SpanRecord {
  return {
    ...custom,
    ...enrichment,
    trace_id: TRACE,
    span_id: spanId,
    parent_span_id: '',
    trace_state: '',
    name: 'POST /pay',
    kind: 'Server',
    start_time_unix_nano: start,
    end_time_unix_nano: String(BigInt(start) + 250_000_000n),
    duration_ns: '250000000',
    start_ms: Number(BigInt(start) / 1_000_000n),
    duration_ms: 250,
    status_code: 'Ok',
    status_message: '',
    resource_schema_url: '',
    resource_attributes: { 'service.name': 'checkout' },
    scope_name: 'http',
    scope_version: '',
    scope_attributes: {},
    span_attributes: {},
    events: [{ time_unix_nano: '1795334400100000000', name: 'retry', attributes: {} }],
    links: [
      {
        trace_id: '11111111111111111111111111111111',
        span_id: '2222222222222222',
        trace_state: '',
        attributes: {},
      },
    ],
  };
}

function alert(count: number): Alert {
  return {
    id: 'alert-1',
    issue_code: 'PAYMENT_TIMEOUT',
    severity: 'error',
    message: 'payments time out',
    suggested_fix: 'raise the timeout',
    confidence: 0.5,
    automation_possible: false,
    automation_action: null,
    related_trace_id: TRACE,
    related_logs: [],
    created_at: '2025-01-15T10:31:00.000Z',
    created_by: 'stacklens',
    rule_id: 'timeouts',
    service: 'checkout',
    count,
    window_start: '2025-01-15T10:30:00.000Z',
  };
}
