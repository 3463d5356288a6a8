import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { NEVER } from 'rxjs';
import { Registry } from 'prom-client';
import pino from 'pino';
import type { ApiDeps } from '../../api/deps';
import { startApi, type RunningApi } from '../../api/testing/harness';
import { createLogger } from '../../common/logger';
import { ClickHouseSink } from '../../sinks/clickhouse/clickhouse-sink';
import { createClickHouse } from '../../sinks/clickhouse/client';
import { TABLES, migrate, type RetentionDays } from '../../sinks/clickhouse/migrations';
import type { OtelLogRow, OtelTraceRow } from '../../sinks/clickhouse/rows';

// The exporter's tables on chDB 26.x, and StackLens next to tables an OpenTelemetry Collector created.
const NOW_MS = Date.now();
const nsAgo = (minutes: number) => (BigInt(NOW_MS - minutes * 60_000) * 1_000_000n).toString();
const TRACE = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

/**
 * What the contrib ClickHouse exporter sends on ClickHouse ≥ 26.2 (logs_table.sql and
 * traces_table.sql rendered for database `collector_db`, `ttl: 72h`, the default engine), written out
 * here as the Collector would run it, so the test does not depend on StackLens' own renderer.
 */
const COLLECTOR_LOGS_DDL = `CREATE TABLE IF NOT EXISTS \`collector_db\`.\`otel_logs\`  (
    \`Timestamp\` DateTime64(9) COMMENT 'Event timestamp with nanosecond precision' CODEC(Delta(8), ZSTD(1)),
    \`TraceId\` String COMMENT 'W3C trace identifier' CODEC(ZSTD(1)),
    \`SpanId\` String COMMENT 'W3C span identifier' CODEC(ZSTD(1)),
    \`TraceFlags\` UInt8 COMMENT 'W3C trace flags',
    \`SeverityText\` LowCardinality(String) COMMENT 'Log severity as text' CODEC(ZSTD(1)),
    \`SeverityNumber\` UInt8 COMMENT 'Log severity as number (1-24)',
    \`ServiceName\` LowCardinality(String) COMMENT 'Service that emitted the log' CODEC(ZSTD(1)),
    \`Body\` String COMMENT 'Log message body' CODEC(ZSTD(1)),
    \`ResourceSchemaUrl\` LowCardinality(String) COMMENT 'Schema URL for the resource' CODEC(ZSTD(1)),
    \`ResourceAttributes\` Map(LowCardinality(String), String) COMMENT 'Resource attributes as key-value pairs' CODEC(ZSTD(1)),
    \`ScopeSchemaUrl\` LowCardinality(String) COMMENT 'Schema URL for the instrumentation scope' CODEC(ZSTD(1)),
    \`ScopeName\` String COMMENT 'Instrumentation scope name' CODEC(ZSTD(1)),
    \`ScopeVersion\` LowCardinality(String) COMMENT 'Instrumentation scope version' CODEC(ZSTD(1)),
    \`ScopeAttributes\` Map(LowCardinality(String), String) COMMENT 'Instrumentation scope attributes' CODEC(ZSTD(1)),
    \`LogAttributes\` Map(LowCardinality(String), String) COMMENT 'Log record attributes' CODEC(ZSTD(1)),
    \`EventName\` String COMMENT 'Event name for log records representing events' CODEC(ZSTD(1)),
    \`__otel_materialized_k8s.cluster.name\` LowCardinality(String) MATERIALIZED ResourceAttributes['k8s.cluster.name'] CODEC(ZSTD(1)),
    \`__otel_materialized_k8s.container.name\` LowCardinality(String) MATERIALIZED ResourceAttributes['k8s.container.name'] CODEC(ZSTD(1)),
    \`__otel_materialized_k8s.deployment.name\` LowCardinality(String) MATERIALIZED ResourceAttributes['k8s.deployment.name'] CODEC(ZSTD(1)),
    \`__otel_materialized_k8s.namespace.name\` LowCardinality(String) MATERIALIZED ResourceAttributes['k8s.namespace.name'] CODEC(ZSTD(1)),
    \`__otel_materialized_k8s.node.name\` LowCardinality(String) MATERIALIZED ResourceAttributes['k8s.node.name'] CODEC(ZSTD(1)),
    \`__otel_materialized_k8s.pod.name\` LowCardinality(String) MATERIALIZED ResourceAttributes['k8s.pod.name'] CODEC(ZSTD(1)),
    \`__otel_materialized_k8s.pod.uid\` LowCardinality(String) MATERIALIZED ResourceAttributes['k8s.pod.uid'] CODEC(ZSTD(1)),
    \`__otel_materialized_deployment.environment.name\` LowCardinality(String) MATERIALIZED ResourceAttributes['deployment.environment.name'] CODEC(ZSTD(1)),
    INDEX idx_trace_id TraceId TYPE text(tokenizer = 'array'),
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE text(tokenizer = 'array'),
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE text(tokenizer = 'array'),
    INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE text(tokenizer = 'array'),
    INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE text(tokenizer = 'array'),
    INDEX idx_log_attr_key mapKeys(LogAttributes) TYPE text(tokenizer = 'array'),
    INDEX idx_log_attr_value mapValues(LogAttributes) TYPE text(tokenizer = 'array'),
    INDEX idx_lower_body lower(Body) TYPE text(tokenizer = 'splitByNonAlpha')
) ENGINE = MergeTree()
PARTITION BY toDate(Timestamp)
ORDER BY (toStartOfFiveMinutes(Timestamp), ServiceName, Timestamp)
TTL toDateTime(Timestamp) + toIntervalDay(3)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1
`;

const COLLECTOR_TRACES_DDL = `CREATE TABLE IF NOT EXISTS \`collector_db\`.\`otel_traces\`  (
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    ParentSpanId String CODEC(ZSTD(1)),
    TraceState String CODEC(ZSTD(1)),
    SpanName LowCardinality(String) CODEC(ZSTD(1)),
    SpanKind LowCardinality(String) CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    SpanAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    Duration UInt64 CODEC(T64, ZSTD(1)),
    StatusCode LowCardinality(String) CODEC(ZSTD(1)),
    StatusMessage String CODEC(ZSTD(1)),
    Events Nested (
        Timestamp DateTime64(9),
        Name LowCardinality(String),
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    Links Nested (
        TraceId String,
        SpanId String,
        TraceState String,
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    ResourceAttributeItems Array(String) ALIAS arrayMap(kv -> concat(kv.1, '=', kv.2), CAST(ResourceAttributes, 'Array(Tuple(String, String))')),
    SpanAttributeItems Array(String) ALIAS arrayMap(kv -> concat(kv.1, '=', kv.2), CAST(SpanAttributes, 'Array(Tuple(String, String))')),
    INDEX idx_trace_id TraceId TYPE text(tokenizer = 'array'),
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE text(tokenizer = 'array'),
    INDEX idx_res_attr_items ResourceAttributeItems TYPE text(tokenizer = 'array'),
    INDEX idx_span_attr_key mapKeys(SpanAttributes) TYPE text(tokenizer = 'array'),
    INDEX idx_span_attr_items SpanAttributeItems TYPE text(tokenizer = 'array'),
    INDEX idx_duration Duration TYPE minmax GRANULARITY 1,
    INDEX idx_lower_span_name lower(SpanName) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8
) ENGINE = MergeTree()
PARTITION BY toDate(Timestamp)
PRIMARY KEY (ServiceName, SpanName, toDateTime(Timestamp))
ORDER BY (ServiceName, SpanName, toDateTime(Timestamp), Timestamp)
TTL toDateTime(Timestamp) + toIntervalDay(3)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1
`;

/** A row as the exporter's logs_insert.sql writes it: its own columns only. */
const collectorLog = {
  Timestamp: nsAgo(20),
  TraceId: TRACE,
  SpanId: '0102030405060708',
  TraceFlags: 1,
  SeverityText: 'ERROR',
  SeverityNumber: 17,
  ServiceName: 'collector-svc',
  Body: 'written by the collector',
  ResourceSchemaUrl: '',
  ResourceAttributes: { 'service.name': 'collector-svc', 'k8s.namespace.name': 'shop' },
  ScopeSchemaUrl: '',
  ScopeName: 'otelcol',
  ScopeVersion: '',
  ScopeAttributes: {},
  LogAttributes: { workflow_id: 'wf-collector' },
  EventName: 'order.failed',
};

/** A row as StackLens' ClickHouse sink writes it (sinks/clickhouse/rows.ts). */
function stackLensLog(id: string, body: string): OtelLogRow {
  return {
    ...collectorLog,
    Timestamp: nsAgo(10),
    SpanId: '1112131415161718',
    SeverityText: 'WARN',
    SeverityNumber: 13,
    ServiceName: 'stacklens-svc',
    Body: body,
    ResourceAttributes: { 'service.name': 'stacklens-svc' },
    LogAttributes: { workflow_id: 'wf-stacklens' },
    EventName: '',
    StackLensRecordId: id,
    StackLensErrorCode: 'TIMEOUT',
  };
}

const stackLensSpan: OtelTraceRow = {
  Timestamp: nsAgo(11),
  TraceId: TRACE,
  SpanId: '1112131415161718',
  ParentSpanId: '',
  TraceState: '',
  SpanName: 'POST /orders',
  SpanKind: 'Server',
  ServiceName: 'stacklens-svc',
  ResourceAttributes: { 'service.name': 'stacklens-svc' },
  ScopeName: 'demo',
  ScopeVersion: '1.0',
  SpanAttributes: {},
  Duration: '120000000000',
  StatusCode: 'Error',
  StatusMessage: 'timeout',
  'Events.Timestamp': [],
  'Events.Name': [],
  'Events.Attributes': [],
  'Links.TraceId': [],
  'Links.SpanId': [],
  'Links.TraceState': [],
  'Links.Attributes': [],
  StackLensErrorCode: 'TIMEOUT',
};

describe('ClickHouse tables as the Collector exporter creates them (chDB)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stacklens-otel-schema-'));
  let ch: ClickHouseClient;

  beforeAll(async () => {
    ch = await createClickHouse({ database: 'stacklens_fresh', chdbPath: dir });
  });

  afterAll(async () => {
    await ch?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function rows<T>(query: string, query_params: Record<string, unknown> = {}): Promise<T[]> {
    return (await ch.query({ query, query_params, format: 'JSONEachRow' })).json<T>();
  }
  const engineOf = async (database: string, table: string) =>
    (
      await rows<{ engine_full: string; sorting_key: string }>(
        'SELECT engine_full, sorting_key FROM system.tables WHERE database = {database:String} AND name = {table:String}',
        { database, table },
      )
    )[0]!;
  const columnsOf = async (database: string, table: string) =>
    (
      await rows<{ name: string }>(
        'SELECT name FROM system.columns WHERE database = {database:String} AND table = {table:String} ORDER BY position',
        { database, table },
      )
    ).map((c) => c.name);
  const indexesOf = async (database: string, table: string) =>
    Object.fromEntries(
      (
        await rows<{ name: string; type: string }>(
          'SELECT name, type FROM system.data_skipping_indices WHERE database = {database:String} AND table = {table:String}',
          { database, table },
        )
      ).map((i) => [i.name, i.type]),
    );

  describe('created by StackLens', () => {
    const retention: RetentionDays = { logs: 7, traces: 3, correlations: 30, alerts: 90 };

    beforeAll(async () => {
      await migrate(ch, { retention });
    });

    it('has the exporter columns and no TimestampTime, so Grafana uses its current OTel schema mode', async () => {
      const columns = await columnsOf('stacklens_fresh', 'otel_logs');
      expect(columns).not.toContain('TimestampTime');
      expect(columns.slice(0, 16)).toEqual(Object.keys(collectorLog));
      expect(columns).toEqual(
        expect.arrayContaining([
          '__otel_materialized_deployment.environment.name',
          'StackLensRecordId',
          'StackLensErrorCode',
        ]),
      );
      expect((await engineOf('stacklens_fresh', 'otel_logs')).sorting_key).toBe(
        'toStartOfFiveMinutes(Timestamp), ServiceName, Timestamp',
      );
    });

    it("uses the exporter's text() indexes on ClickHouse 26.x, and idx_lower_span_name on traces", async () => {
      expect(await indexesOf('stacklens_fresh', 'otel_logs')).toMatchObject({
        idx_trace_id: 'text',
        idx_log_attr_value: 'text',
        idx_lower_body: 'text',
        idx_stacklens_record_id: 'bloom_filter',
      });
      expect(await indexesOf('stacklens_fresh', 'otel_traces')).toMatchObject({
        idx_trace_id: 'text',
        idx_res_attr_items: 'text',
        idx_span_attr_items: 'text',
        idx_duration: 'minmax',
        idx_lower_span_name: 'tokenbf_v1',
      });
    });

    it('renders each family’s retention as the exporter renders its TTL', async () => {
      expect((await engineOf('stacklens_fresh', 'otel_logs')).engine_full).toContain(
        'TTL toDateTime(Timestamp) + toIntervalDay(7)',
      );
      expect((await engineOf('stacklens_fresh', 'otel_traces')).engine_full).toContain(
        'TTL toDateTime(Timestamp) + toIntervalDay(3)',
      );
      expect((await engineOf('stacklens_fresh', 'otel_traces_trace_id_ts')).engine_full).toContain(
        'TTL toDateTime(Start) + toIntervalDay(3)',
      );
      expect((await engineOf('stacklens_fresh', 'stacklens_correlation_parts')).engine_full).toContain(
        'TTL toDateTime(part_start) + toIntervalDay(30)',
      );
      expect((await engineOf('stacklens_fresh', 'stacklens_alerts')).engine_full).toContain(
        'TTL toDateTime(window_start) + toIntervalDay(90)',
      );
    });

    it('changes the retention of its own tables on the next start, and removes it for 0', async () => {
      await migrate(ch, { retention: { logs: 14, traces: 0, correlations: 60, alerts: 0 } });
      expect((await engineOf('stacklens_fresh', 'otel_logs')).engine_full).toContain(
        'TTL toDateTime(Timestamp) + toIntervalDay(14)',
      );
      expect((await engineOf('stacklens_fresh', 'otel_traces')).engine_full).not.toContain('TTL');
      expect((await engineOf('stacklens_fresh', 'otel_traces_trace_id_ts')).engine_full).not.toContain('TTL');
      expect((await engineOf('stacklens_fresh', 'stacklens_correlation_parts')).engine_full).toContain(
        'TTL toDateTime(part_start) + toIntervalDay(60)',
      );
      expect((await engineOf('stacklens_fresh', 'stacklens_alerts')).engine_full).not.toContain('TTL');
      await migrate(ch, { retention });
      expect((await engineOf('stacklens_fresh', 'otel_traces')).engine_full).toContain(
        'TTL toDateTime(Timestamp) + toIntervalDay(3)',
      );
    });

    it('drops the TimestampTime column an older StackLens created, keeping the rows', async () => {
      await ch.command({
        query: 'ALTER TABLE otel_logs ADD COLUMN TimestampTime DateTime DEFAULT toDateTime(Timestamp)',
      });
      await ch.insert({
        table: TABLES.logs,
        values: [stackLensLog('old-1', 'before the upgrade')],
        format: 'JSONEachRow',
      });
      await migrate(ch, { retention });
      expect(await columnsOf('stacklens_fresh', 'otel_logs')).not.toContain('TimestampTime');
      expect(await rows("SELECT Body FROM otel_logs WHERE StackLensRecordId = 'old-1'")).toEqual([
        { Body: 'before the upgrade' },
      ]);
    });
  });

  describe('next to tables a Collector created first', () => {
    const lines: { msg: string; table?: string }[] = [];
    const logger = pino(
      { level: 'info' },
      { write: (line: string) => lines.push(JSON.parse(line) as never) },
    );
    let collector: ClickHouseClient;
    let api: RunningApi;
    let createdBefore: Record<string, string>;

    beforeAll(async () => {
      await ch.command({ query: 'CREATE DATABASE IF NOT EXISTS collector_db' });
      await ch.command({ query: COLLECTOR_LOGS_DDL });
      await ch.command({ query: COLLECTOR_TRACES_DDL });
      await ch.insert({ table: 'collector_db.otel_logs', values: [collectorLog], format: 'JSONEachRow' });
      createdBefore = Object.fromEntries(
        await Promise.all(
          ['otel_logs', 'otel_traces'].map(async (t) => [t, (await engineOf('collector_db', t)).engine_full]),
        ),
      );
      // A second client on the same chDB directory, whose unqualified names resolve to collector_db.
      collector = await createClickHouse({ database: 'collector_db', chdbPath: dir });
      await migrate(collector, { retention: { logs: 7, traces: 7, correlations: 0, alerts: 0 }, logger });

      // Through the topology sink, as the pipeline writes: ledger and rows in the Collector's database.
      await writeThroughSink(TABLES.logs, stackLensLog('otel-logs:0:5:0', 'written by stacklens'), {
        topic: 'otel-logs',
        partition: 0,
        offset: '5',
      });
      await writeThroughSink<OtelTraceRow>(TABLES.traces, stackLensSpan, {
        topic: 'otel-traces',
        partition: 0,
        offset: '1',
      });

      api = await startApi({
        clickhouse: collector,
        database: 'collector_db',
        live: { logs$: NEVER, alerts$: NEVER },
        ingest: { produce: () => Promise.reject(new Error('not exercised')) },
        probes: { clickhouse: async () => ({ ok: true }) },
        registry: new Registry(),
        auth: { kind: 'none' },
        logger: createLogger({ level: 'silent', format: 'json' }),
      } as ApiDeps);
    });

    afterAll(async () => {
      await api?.close();
      await collector?.close();
    });

    /** One record's row written and flushed by a ClickHouseSink on the Collector's database. */
    async function writeThroughSink<Row extends object>(
      table: string,
      row: Row,
      source: { topic: string; partition: number; offset: string },
    ): Promise<void> {
      const sink = new ClickHouseSink<null, Row, Row>({ client: collector, table, toRows: (r) => r.value });
      sink.write({ key: null, value: row, timestamp: NOW_MS, headers: {}, ...source }, source);
      await sink.flush([{ ...source, firstOffset: source.offset, lastOffset: source.offset }]);
    }

    it('adds StackLens columns as metadata only, says so, and leaves the key and TTL alone', async () => {
      for (const table of ['otel_logs', 'otel_traces']) {
        expect(await columnsOf('collector_db', table)).toContain('StackLensErrorCode');
        const after = (await engineOf('collector_db', table)).engine_full;
        // The same engine, key, partitioning and TTL (the collector's 3 days, not the 7 configured).
        expect(after.split(' SETTINGS ')[0]).toBe(createdBefore[table]!.split(' SETTINGS ')[0]);
        expect(after).toContain('toIntervalDay(3)');
      }
      expect(await columnsOf('collector_db', 'otel_logs')).toContain('StackLensRecordId');
      expect(lines.filter((l) => /not created by StackLens/.test(l.msg)).map((l) => l.table)).toEqual([
        'otel_logs',
        'otel_traces',
      ]);
      expect(lines.filter((l) => /retention of a table StackLens did not create/.test(l.msg))).toHaveLength(
        2,
      );
    });

    it("keeps the Collector's row readable and writes StackLens' rows with their record id", async () => {
      expect(
        await rows(
          'SELECT ServiceName, StackLensRecordId, EventName FROM collector_db.otel_logs ORDER BY Timestamp',
        ),
      ).toEqual([
        { ServiceName: 'collector-svc', StackLensRecordId: '', EventName: 'order.failed' },
        { ServiceName: 'stacklens-svc', StackLensRecordId: 'otel-logs:0:5:0', EventName: '' },
      ]);
    });

    it('answers API queries over both rows', async () => {
      const logs = (await (await fetch(`${api.baseUrl}/api/logs`)).json()) as {
        logs: { body: string; id: string }[];
      };
      expect(logs.logs.map((l) => l.body)).toEqual(['written by stacklens', 'written by the collector']);
      expect(logs.logs[0]!.id).toBe('otel-logs:0:5:0');
      expect(logs.logs[1]!.id).toBe(''); // not written by StackLens: no record id of its own

      const filtered = (await (
        await fetch(`${api.baseUrl}/api/logs?workflow_id=wf-collector&level=error`)
      ).json()) as {
        logs: { body: string }[];
      };
      expect(filtered.logs.map((l) => l.body)).toEqual(['written by the collector']);

      const trace = await fetch(`${api.baseUrl}/api/traces/${TRACE}`);
      expect(trace.status).toBe(200);
      const tree = (await trace.json()) as { logs: unknown[]; spans: unknown[] };
      expect(tree.logs).toHaveLength(2);

      const services = await fetch(`${api.baseUrl}/api/services`);
      expect(services.status).toBe(200);
      expect(JSON.stringify(await services.json())).toContain('collector-svc');
    });
  });

  it("leaves an older exporter's TimestampTime key alone, says why, and still inserts", async () => {
    // logs_table.sql of exporters before v0.151 (TimestampTime in the partition and sorting keys).
    await ch.command({ query: 'CREATE DATABASE IF NOT EXISTS collector_old' });
    await ch.command({
      query: `CREATE TABLE IF NOT EXISTS "collector_old"."otel_logs"  (
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TimestampTime DateTime DEFAULT toDateTime(Timestamp),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    TraceFlags UInt8,
    SeverityText LowCardinality(String) CODEC(ZSTD(1)),
    SeverityNumber UInt8,
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    Body String CODEC(ZSTD(1)),
    ResourceSchemaUrl LowCardinality(String) CODEC(ZSTD(1)),
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeSchemaUrl LowCardinality(String) CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion LowCardinality(String) CODEC(ZSTD(1)),
    ScopeAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    LogAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    EventName String CODEC(ZSTD(1)),

    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_log_attr_key mapKeys(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_log_attr_value mapValues(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_body Body TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8
) ENGINE = MergeTree()
PARTITION BY toDate(TimestampTime)
PRIMARY KEY (ServiceName, TimestampTime)
ORDER BY (ServiceName, TimestampTime, Timestamp)

SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1`,
    });
    const lines: { msg: string }[] = [];
    const logger = pino(
      { level: 'info' },
      { write: (line: string) => lines.push(JSON.parse(line) as never) },
    );
    const old = await createClickHouse({ database: 'collector_old', chdbPath: dir });
    try {
      await migrate(old, { logger });
      expect(await columnsOf('collector_old', 'otel_logs')).toEqual(
        expect.arrayContaining(['TimestampTime', 'StackLensRecordId', 'StackLensErrorCode']),
      );
      expect(lines.map((l) => l.msg)).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/TimestampTime \(exporter before v0.151\).*left as is/),
        ]),
      );
      await old.insert({
        table: TABLES.logs,
        values: [stackLensLog('old-exporter-1', 'into the old schema')],
        format: 'JSONEachRow',
      });
      expect(
        await rows('SELECT Body, TimestampTime = toDateTime(Timestamp) AS same FROM collector_old.otel_logs'),
      ).toEqual([{ Body: 'into the old schema', same: 1 }]);
    } finally {
      await old.close();
    }
  });
});
