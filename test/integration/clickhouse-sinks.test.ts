import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Alert, Correlation, LogRecord, SpanRecord } from '../../processors/records';
import {
  BatchWriter,
  BufferFullError,
  ClickHouseWriteError,
  deduplicationToken,
} from '../../sinks/clickhouse/batch-writer';
import { createClickHouse } from '../../sinks/clickhouse/client';
import { KEEP_FOREVER, TABLES, migrate, schemaStatements } from '../../sinks/clickhouse/migrations';
import { alertRow, correlationRow, logRow, spanRow, type OtelLogRow } from '../../sinks/clickhouse/rows';
import type { SourceRange } from '../../sinks/source-range';

// The ClickHouse sink against chDB: migrations, the row mapping and the batch writer's insert
// deduplication, read back with plain SQL the way Grafana and the API read the tables.
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

  describe('logs through the batch writer', () => {
    const writer = () =>
      new BatchWriter<OtelLogRow>({ client: ch, table: TABLES.logs, maxBufferedRows: 100 });

    it('inserts a flush as rows readable by time, service and attribute', async () => {
      const w = writer();
      w.add([
        logRow(log('l-1', { body: 'first' })),
        logRow(log('l-2', { body: 'second', time_unix_nano: '1795334400999999999' })),
      ]);

      const result = await w.flush(range('10', '11'));

      expect(result).toEqual({ rows: 2, token: 'stacklens:otel-logs-0-10-11' });
      expect(w.size).toBe(0);
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

    it('does not double rows when the same range is flushed again (a replay)', async () => {
      const batch = [logRow(log('r-1')), logRow(log('r-2'))];
      const first = writer();
      first.add(batch);
      await first.flush(range('20', '21'));

      const replay = writer();
      replay.add(batch);
      const result = await replay.flush(range('20', '21'));

      expect(result.rows).toBe(2); // sent, and dropped by ClickHouse as a duplicate
      expect(
        await rows('SELECT count() AS n FROM otel_logs WHERE StackLensRecordId IN {ids:Array(String)}', {
          ids: ['r-1', 'r-2'],
        }),
      ).toEqual([{ n: '2' }]);
    });

    it('inserts the same rows again when they come from another range', async () => {
      const w = writer();
      w.add([logRow(log('same-content'))]);
      await w.flush(range('30', '30'));
      w.add([logRow(log('same-content'))]);
      await w.flush(range('31', '31'));

      expect(
        await rows('SELECT count() AS n FROM otel_logs WHERE StackLensRecordId = {id:String}', {
          id: 'same-content',
        }),
      ).toEqual([{ n: '2' }]);
    });

    it('bounds the buffer', () => {
      const w = new BatchWriter<OtelLogRow>({ client: ch, table: TABLES.logs, maxBufferedRows: 2 });
      w.add([logRow(log('b-1'))]);
      expect(() => w.add([logRow(log('b-2')), logRow(log('b-3'))])).toThrow(BufferFullError);
      expect(w.size).toBe(1);
      expect(w.remainingCapacity).toBe(1);
    });

    it('flushes nothing when nothing is buffered', async () => {
      expect(await writer().flush(range('40', '40'))).toEqual({
        rows: 0,
        token: deduplicationToken(range('40', '40')),
      });
    });
  });

  describe('retries', () => {
    it('retries a failed insert with the same token until it succeeds', async () => {
      const failures: number[] = [];
      const w = new BatchWriter<{ id: number }>({
        client: ch,
        table: 'created_late',
        maxBufferedRows: 10,
        retry: { attempts: 5, initialDelayMs: 10, maxDelayMs: 20 },
        // The table is missing on the first attempt; creating it here lets the retry succeed.
        onRetry: async ({ attempt }) => {
          failures.push(attempt);
          await ch.command({
            query: `CREATE TABLE IF NOT EXISTS created_late (id UInt32) ENGINE = MergeTree ORDER BY id
                    SETTINGS non_replicated_deduplication_window = 100`,
          });
        },
      });
      w.add([{ id: 1 }, { id: 2 }]);

      expect(await w.flush(range('0', '1'))).toEqual({ rows: 2, token: 'stacklens:otel-logs-0-0-1' });
      expect(failures).toEqual([1]);
      expect(await rows('SELECT id FROM created_late ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }]);
    });

    it('gives up after the last attempt and keeps the rows for a later flush', async () => {
      const attempts: number[] = [];
      const w = new BatchWriter<{ id: number }>({
        client: ch,
        table: 'never_created',
        maxBufferedRows: 10,
        retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 2 },
        onRetry: ({ attempt }) => {
          attempts.push(attempt);
        },
      });
      w.add([{ id: 1 }]);

      await expect(w.flush(range('0', '0'))).rejects.toBeInstanceOf(ClickHouseWriteError);
      expect(attempts).toEqual([1, 2]);
      expect(w.size).toBe(1);
    });
  });

  it('writes spans with events and links, and fills the trace-id lookup', async () => {
    const w = new BatchWriter({ client: ch, table: TABLES.traces, maxBufferedRows: 10 });
    w.add([spanRow(span('s-1', '1795334400000000000')), spanRow(span('s-2', '1795334460000000000'))]);
    await w.flush(range('0', '1', 'otel-traces'));

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

  it('keeps the latest correlation per trace (highest version), whatever the insert order', async () => {
    const w = new BatchWriter({ client: ch, table: TABLES.correlations, maxBufferedRows: 10 });
    w.add([correlationRow(correlation(3, 5)), correlationRow(correlation(1, 1))]);
    await w.flush(range('0', '1', 'stacklens-correlations'));
    w.add([correlationRow(correlation(2, 3))]);
    await w.flush(range('2', '2', 'stacklens-correlations'));

    expect(
      await rows(
        'SELECT version, span_count, log_counts, start_time FROM stacklens_correlations FINAL WHERE trace_id = {trace:String}',
        {
          trace: TRACE,
        },
      ),
    ).toEqual([
      {
        version: '3',
        span_count: 5,
        log_counts: { unspecified: 0, trace: 0, debug: 0, info: 0, warn: 0, error: 1, fatal: 0 },
        start_time: '2026-11-22 08:00:00.000000000',
      },
    ]);
  });

  it('stores alerts with UTC times and keeps the highest count of a re-emitted alert', async () => {
    const w = new BatchWriter({ client: ch, table: TABLES.alerts, maxBufferedRows: 10 });
    w.add([alertRow(alert(1)), alertRow(alert(4))]);
    await w.flush(range('0', '1', 'stacklens-alerts'));

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

function correlation(version: number, spanCount: number): Correlation {
  return {
    trace_id: TRACE,
    root_span_id: 's-1',
    root_span_name: 'POST /pay',
    root_service: 'checkout',
    services: ['checkout'],
    start_time_unix_nano: '1795334400000000000',
    end_time_unix_nano: '1795334400250000000',
    duration_ns: '250000000',
    start_ms: 1795334400000,
    duration_ms: 250,
    span_count: spanCount,
    error_count: 1,
    log_count: 1,
    log_counts: { unspecified: 0, trace: 0, debug: 0, info: 0, warn: 0, error: 1, fatal: 0 },
    first_error_message: 'timeout',
    first_error_time_unix_nano: '1795334400200000000',
    first_error_code: 'TIMEOUT',
    gen_ai_input_tokens: 0,
    gen_ai_output_tokens: 0,
    log_ids: ['l-1'],
    log_ids_dropped: 0,
    version,
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
