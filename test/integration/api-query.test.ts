import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { Registry } from 'prom-client';
import { NEVER } from 'rxjs';
import { createLogger } from '../../common/logger';
import type { ApiDeps } from '../../api/deps';
import { startApi, type RunningApi } from '../../api/testing/harness';
import { createClickHouse } from '../../sinks/clickhouse/client';
import { migrate } from '../../sinks/clickhouse/migrations';

// REST queries against chDB with the sinks' own migrations, so the API and the sinks agree on the schema.
const DATABASE = 'stacklens_api_query';
const logger = createLogger({ level: 'silent', format: 'json' });
const NOW_MS = Date.now();
/** Epoch ns string `minutesAgo` minutes before the test started, plus `extraNs`. */
const ago = (minutesAgo: number, extraNs = 0) =>
  (BigInt(NOW_MS - minutesAgo * 60_000) * 1_000_000n + BigInt(extraNs)).toString();
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const OTHER_TRACE = '00000000000000000000000000000abc';

function logRow(o: {
  ts: string;
  id: string;
  service: string;
  sev: number;
  text: string;
  body: string;
  trace?: string;
  attrs?: Record<string, string>;
  res?: Record<string, string>;
}) {
  return {
    Timestamp: o.ts,
    TraceId: o.trace ?? '',
    SpanId: '',
    SeverityText: o.text,
    SeverityNumber: o.sev,
    ServiceName: o.service,
    Body: o.body,
    ResourceAttributes: { 'service.name': o.service, ...o.res },
    ScopeAttributes: {},
    LogAttributes: o.attrs ?? {},
    StackLensRecordId: o.id,
  };
}

const LOGS = [
  logRow({
    ts: ago(50),
    id: 'otel-logs:0:1:0',
    service: 'beorn',
    sev: 9,
    text: 'INFO',
    body: 'Operation started',
    trace: TRACE,
    attrs: { workflow_id: 'wf-snowflake-001', circuit_id: 'CIRCUIT-123' },
  }),
  logRow({
    ts: ago(40),
    id: 'otel-logs:0:2:0',
    service: 'beorn',
    sev: 13,
    text: 'WARN',
    body: 'Retrying upstream call',
    trace: TRACE,
    attrs: { workflow_id: 'wf-snowflake-001' },
  }),
  logRow({
    ts: ago(30),
    id: 'otel-logs:0:3:0',
    service: 'palantir',
    sev: 17,
    text: 'ERROR',
    body: 'Product price is NULL',
    trace: TRACE,
    attrs: { circuit_id: 'CIRCUIT-123' },
    res: { workflow_id: 'wf-mssql-002' },
  }),
  // Three records with the same timestamp: pagination must still neither skip nor repeat.
  logRow({ ts: ago(20), id: 'otel-logs:1:1:0', service: 'arda', sev: 9, text: 'INFO', body: 'tick a' }),
  logRow({ ts: ago(20), id: 'otel-logs:1:1:1', service: 'arda', sev: 9, text: 'INFO', body: 'tick b' }),
  logRow({ ts: ago(20), id: '', service: 'arda', sev: 9, text: 'INFO', body: "tick c with a quote ' in it" }),
  logRow({
    ts: ago(10),
    id: 'otel-logs:1:2:0',
    service: 'arda',
    sev: 21,
    text: 'FATAL',
    body: 'Crashed',
    trace: OTHER_TRACE,
    attrs: { 'workflow.id': 'wf-postgres-003' },
  }),
];

function spanRow(o: {
  id: string;
  parent: string;
  name: string;
  service: string;
  startNs: string;
  durationMs: number;
  status?: string;
  events?: string[];
}) {
  return {
    Timestamp: o.startNs,
    TraceId: TRACE,
    SpanId: o.id,
    ParentSpanId: o.parent,
    TraceState: '',
    SpanName: o.name,
    SpanKind: 'Server',
    ServiceName: o.service,
    ResourceAttributes: { 'service.name': o.service },
    ScopeName: 'test',
    ScopeVersion: '',
    SpanAttributes: { 'http.route': '/orders' },
    Duration: String(o.durationMs * 1_000_000),
    StatusCode: o.status ?? 'Unset',
    StatusMessage: o.status === 'Error' ? 'price missing' : '',
    'Events.Timestamp': (o.events ?? []).map(() => o.startNs),
    'Events.Name': o.events ?? [],
    'Events.Attributes': (o.events ?? []).map(() => ({ 'exception.message': 'boom' })),
    'Links.TraceId': [],
    'Links.SpanId': [],
    'Links.TraceState': [],
    'Links.Attributes': [],
  };
}

const SPANS = [
  spanRow({
    id: '1111111111111111',
    parent: '',
    name: 'POST /orders',
    service: 'beorn',
    startNs: ago(51),
    durationMs: 3_000_000,
  }),
  spanRow({
    id: '2222222222222222',
    parent: '1111111111111111',
    name: 'price lookup',
    service: 'palantir',
    startNs: ago(35),
    durationMs: 60_000,
    status: 'Error',
    events: ['exception'],
  }),
  spanRow({
    id: '3333333333333333',
    parent: '1111111111111111',
    name: 'audit',
    service: 'beorn',
    startNs: ago(45),
    durationMs: 1_000,
  }),
];

describe('API queries over ClickHouse (chDB)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stacklens-api-query-'));
  let ch: ClickHouseClient;
  let api: RunningApi;
  const registry = new Registry();

  const deps = (clickhouse: ClickHouseClient, overrides: Partial<ApiDeps> = {}): ApiDeps => ({
    clickhouse,
    database: DATABASE,
    live: { logs$: NEVER, alerts$: NEVER },
    ingest: { produce: () => Promise.reject(new Error('ingest is not exercised by this file')) },
    probes: {
      clickhouse: async () =>
        (await clickhouse.ping()).success ? { ok: true } : { ok: false, error: 'ping failed' },
    },
    registry,
    auth: { kind: 'none' },
    logger,
    ...overrides,
  });

  const get = async (path: string) => {
    const res = await fetch(`${api.baseUrl}${path}`);
    return {
      status: res.status,
      body: (await res.json()) as Record<string, unknown> & { logs: { body: string; id: string }[] },
    };
  };
  const bodies = async (path: string) => {
    const { status, body } = await get(path);
    expect(status).toBe(200);
    return body.logs.map((l) => l.body);
  };

  beforeAll(async () => {
    ch = await createClickHouse({ database: DATABASE, chdbPath: dir });
    await migrate(ch);
    await ch.insert({ table: 'otel_logs', values: LOGS, format: 'JSONEachRow' });
    await ch.insert({ table: 'otel_traces', values: SPANS, format: 'JSONEachRow' });
    api = await startApi(deps(ch));
  });

  afterAll(async () => {
    await api?.close();
    await ch?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('GET /api/logs', () => {
    it('returns every record newest first, with times, ids and attributes', async () => {
      const { status, body } = await get('/api/logs');
      expect(status).toBe(200);
      expect(body.logs).toHaveLength(LOGS.length);
      expect(body.logs[0]).toMatchObject({
        body: 'Crashed',
        service: 'arda',
        severity_text: 'FATAL',
        severity_number: 21,
        trace_id: OTHER_TRACE,
        id: 'otel-logs:1:2:0',
        time_unix_nano: LOGS[6]!.Timestamp,
        log_attributes: { 'workflow.id': 'wf-postgres-003' },
        workflow_id: 'wf-postgres-003',
      });
      expect(body.logs.at(-1)!.body).toBe('Operation started');
      expect(body.next_cursor).toBeNull();
    });

    it('filters by service, minimum level, trace id and workflow id', async () => {
      expect(await bodies('/api/logs?service=beorn')).toEqual([
        'Retrying upstream call',
        'Operation started',
      ]);
      expect(await bodies('/api/logs?level=warn')).toEqual([
        'Crashed',
        'Product price is NULL',
        'Retrying upstream call',
      ]);
      expect(await bodies('/api/logs?level=17')).toEqual(['Crashed', 'Product price is NULL']);
      expect(await bodies(`/api/logs?trace_id=${TRACE.toUpperCase()}`)).toEqual([
        'Product price is NULL',
        'Retrying upstream call',
        'Operation started',
      ]);
      expect(await bodies('/api/logs?workflow_id=wf-snowflake-001')).toEqual([
        'Retrying upstream call',
        'Operation started',
      ]);
      // found as a resource attribute, and under the dotted key
      expect(await bodies('/api/logs?workflow_id=wf-mssql-002')).toEqual(['Product price is NULL']);
      expect(await bodies('/api/logs?workflow_id=wf-postgres-003')).toEqual(['Crashed']);
    });

    it('filters by custom attributes and by text in the body (case-insensitive)', async () => {
      expect(await bodies('/api/logs?attr.circuit_id=CIRCUIT-123')).toEqual([
        'Product price is NULL',
        'Operation started',
      ]);
      expect(await bodies('/api/logs?circuit_id=CIRCUIT-123&service=palantir')).toEqual([
        'Product price is NULL',
      ]);
      expect(await bodies('/api/logs?attr.service.name=palantir')).toEqual(['Product price is NULL']);
      expect(await bodies('/api/logs?q=price%20is%20null')).toEqual(['Product price is NULL']);
    });

    it('filters by time range given as RFC 3339 or epoch', async () => {
      const start = new Date(NOW_MS - 45 * 60_000).toISOString();
      const end = String(NOW_MS - 25 * 60_000); // epoch milliseconds
      expect(await bodies(`/api/logs?start_time=${start}&end_time=${end}`)).toEqual([
        'Product price is NULL',
        'Retrying upstream call',
      ]);
      const seconds = String(Math.floor((NOW_MS - 15 * 60_000) / 1000));
      expect(await bodies(`/api/logs?start_time=${seconds}`)).toEqual(['Crashed']);
    });

    it('treats SQL in any parameter as a plain value', async () => {
      const injections = [
        `service=${encodeURIComponent("beorn' OR '1'='1")}`,
        `q=${encodeURIComponent("'; DROP TABLE otel_logs; --")}`,
        `workflow_id=${encodeURIComponent("x') OR 1=1 --")}`,
        `${encodeURIComponent("attr.a']=''OR")}=1`,
      ];
      for (const query of injections) {
        const { status, body } = await get(`/api/logs?${query}`);
        if (status === 200) expect(body.logs).toEqual([]);
        else expect(status).toBe(400);
      }
      expect(await bodies(`/api/logs?q=${encodeURIComponent("quote ' in")}`)).toEqual([
        "tick c with a quote ' in it",
      ]);
      expect((await get('/api/logs')).body.logs).toHaveLength(LOGS.length);
    });

    it('answers 400 naming the bad parameter', async () => {
      const cases: [string, string][] = [
        ['limit=0', 'limit'],
        ['limit=100000', 'limit'],
        ['limit=ten', 'limit'],
        ['level=loud', 'level'],
        ['start_time=yesterday', 'start_time'],
        ['cursor=nonsense', 'cursor'],
        ['servce=beorn', 'servce'],
        ['service=a&service=b', 'service'],
      ];
      for (const [query, parameter] of cases) {
        const { status, body } = await get(`/api/logs?${query}`);
        expect({ query, status, error: body.error }).toEqual({ query, status: 400, error: 'bad_parameter' });
        expect(body.detail).toMatch(new RegExp(`^${parameter.replace('.', '\\.')}: `));
      }
    });

    it('pages with a cursor without skipping or repeating, even when rows are inserted between pages', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
        const { status, body } = await get(`/api/logs?limit=2${query}`);
        expect(status).toBe(200);
        seen.push(...body.logs.map((l) => l.body));
        cursor = body.next_cursor as string | null;
        if (pages === 0) {
          // A newer record arrives while the client pages: it belongs before page 1, never inside later pages.
          await ch.insert({
            table: 'otel_logs',
            values: [
              logRow({
                ts: ago(0),
                id: 'otel-logs:9:9:0',
                service: 'late',
                sev: 9,
                text: 'INFO',
                body: 'arrived meanwhile',
              }),
            ],
            format: 'JSONEachRow',
          });
        }
        pages++;
      } while (cursor !== null && pages < 10);
      expect(seen).toHaveLength(LOGS.length);
      expect(new Set(seen).size).toBe(LOGS.length);
      expect(seen).not.toContain('arrived meanwhile');
      expect(await bodies('/api/logs?limit=1')).toEqual(['arrived meanwhile']);
      await ch.command({
        query: 'ALTER TABLE otel_logs DELETE WHERE ServiceName = {s:String}',
        query_params: { s: 'late' },
        clickhouse_settings: { mutations_sync: '2' },
      });
    });
  });

  describe('GET /api/traces/:traceId', () => {
    it('returns the span tree with timings and the correlated logs in time order', async () => {
      const { status, body } = await get(`/api/traces/${TRACE}`);
      expect(status).toBe(200);
      expect(body).toMatchObject({
        trace_id: TRACE,
        span_count: 3,
        error_count: 1,
        services: ['beorn', 'palantir'],
      });
      const roots = body.roots as {
        span_id: string;
        duration_ms: number;
        children: { span_id: string; offset_ms: number; events: unknown[]; status_code: string }[];
      }[];
      expect(roots.map((r) => r.span_id)).toEqual(['1111111111111111']);
      expect(roots[0]!.duration_ms).toBe(3_000_000);
      expect(roots[0]!.children.map((c) => c.span_id)).toEqual(['3333333333333333', '2222222222222222']);
      expect(roots[0]!.children[0]!.offset_ms).toBe(6 * 60_000);
      expect(roots[0]!.children[1]).toMatchObject({
        status_code: 'Error',
        events: [{ name: 'exception', attributes: { 'exception.message': 'boom' } }],
      });
      expect(body.logs.map((l) => l.body)).toEqual([
        'Operation started',
        'Retrying upstream call',
        'Product price is NULL',
      ]);
    });

    it('answers 404 for an unknown trace and 400 for a malformed id', async () => {
      expect((await get('/api/traces/ffffffffffffffffffffffffffffffff')).status).toBe(404);
      const bad = await get(`/api/traces/${encodeURIComponent("x' OR 1=1")}`);
      expect(bad.status).toBe(400);
      expect(bad.body.detail).toMatch(/^traceId: /);
    });
  });

  describe('correlations, alerts, services, workflows', () => {
    beforeAll(async () => {
      // Each trace as the pipeline stores it: one part per span and log (processors/correlate/part.ts).
      const part = (
        traceId: string,
        kind: 'span' | 'log',
        recordId: string,
        service: string,
        startNs: string,
        extra: Record<string, unknown> = {},
      ) => ({
        trace_id: traceId,
        kind,
        record_id: recordId,
        part_start: startNs,
        part_end: startNs,
        service,
        service_listed: 1,
        is_root: 0,
        root_span_name: '',
        level: kind === 'log' ? 'info' : '',
        is_error: 0,
        error_time: '0000000000000000000',
        error_message: '',
        error_code: '',
        input_tokens: 0,
        output_tokens: 0,
        ...extra,
      });
      const root = { is_root: 1, root_span_name: 'POST /orders' };
      const priceMissing = (ns: string) => ({
        is_error: 1,
        error_time: ns,
        error_message: 'price missing',
        error_code: 'PRICE_MISSING',
      });
      await ch.insert({
        table: 'stacklens_correlation_parts',
        format: 'JSONEachRow',
        values: [
          part(TRACE, 'span', '1111111111111111', 'beorn', ago(51), root),
          part(TRACE, 'span', '2222222222222222', 'beorn', ago(51)),
          part(TRACE, 'log', 'otel-logs:0:1:0', 'beorn', ago(51)),
          part(OTHER_TRACE, 'span', '1111111111111111', 'arda', ago(10), {
            ...root,
            ...priceMissing(ago(10)),
          }),
        ],
      });
      // Late parts of the first trace, in another insert, with a repeat of its root span: they add to it.
      await ch.insert({
        table: 'stacklens_correlation_parts',
        format: 'JSONEachRow',
        values: [
          part(TRACE, 'span', '3333333333333333', 'palantir', ago(51)),
          part(TRACE, 'log', 'otel-logs:0:2:0', 'beorn', ago(51), {
            level: 'error',
            ...priceMissing(ago(51)),
          }),
          part(TRACE, 'span', '1111111111111111', 'beorn', ago(51), root),
        ],
      });

      const alert = (
        id: string,
        severity: string,
        service: string,
        minutesAgo: number,
        count: number,
        trace: string,
      ) => ({
        id,
        issue_code: 'PRICE_MISSING',
        severity,
        message: 'Product price is null or missing',
        suggested_fix: 'Check inventory service response',
        confidence: 0.95,
        automation_possible: true,
        automation_action: '',
        related_trace_id: trace,
        related_logs: ['otel-logs:0:3:0'],
        created_at: new Date(NOW_MS - minutesAgo * 60_000).toISOString().replace('T', ' ').replace('Z', ''),
        created_by: 'system',
        rule_id: 'price-missing',
        service,
        count,
        window_start: new Date(NOW_MS - minutesAgo * 60_000).toISOString().replace('T', ' ').replace('Z', ''),
      });
      await ch.insert({
        table: 'stacklens_alerts',
        format: 'JSONEachRow',
        values: [alert('a1', 'error', 'palantir', 30, 1, TRACE), alert('a2', 'warn', 'beorn', 20, 1, '')],
      });
      await ch.insert({
        table: 'stacklens_alerts',
        format: 'JSONEachRow',
        values: [alert('a1', 'error', 'palantir', 30, 4, TRACE)],
      });
    });

    it("GET /api/correlations returns each trace's parts merged, with its filters", async () => {
      const all = (await get('/api/correlations')).body.correlations as {
        trace_id: string;
        version: number;
        services: string[];
        start_time: string;
      }[];
      expect(all.map((c) => c.trace_id)).toEqual([OTHER_TRACE, TRACE]);
      expect(all[1]).toMatchObject({
        version: 5,
        services: ['beorn', 'palantir'],
        error_count: 1,
        log_counts: { info: 1, error: 1 },
      });
      expect(all[1]!.start_time).toBe(new Date(NOW_MS - 51 * 60_000).toISOString().replace('Z', '000000Z'));
      const ids = async (q: string) =>
        ((await get(`/api/correlations?${q}`)).body.correlations as { trace_id: string }[]).map(
          (c) => c.trace_id,
        );
      expect(await ids(`trace_id=${TRACE}`)).toEqual([TRACE]);
      expect(await ids('service=palantir')).toEqual([TRACE]);
      expect(await ids(`start_time=${new Date(NOW_MS - 20 * 60_000).toISOString()}`)).toEqual([OTHER_TRACE]);
      expect(await ids(`end_time=${new Date(NOW_MS - 20 * 60_000).toISOString()}`)).toEqual([TRACE]);
      expect(await ids('limit=1')).toEqual([OTHER_TRACE]);
      expect((await get('/api/correlations?limit=-1')).status).toBe(400);
    });

    it('GET /api/alerts returns alerts in the event format, newest first, deduplicated', async () => {
      const alerts = (await get('/api/alerts')).body.alerts as Record<string, unknown>[];
      expect(alerts.map((a) => a.id)).toEqual(['a2', 'a1']);
      expect(alerts[1]).toMatchObject({
        severity: 'error',
        count: 4,
        confidence: 0.95,
        related_trace_id: TRACE,
        automation_action: null,
        automation_possible: true,
      });
      expect(alerts[1]!.created_at).toBe(new Date(NOW_MS - 30 * 60_000).toISOString());
      expect(alerts[0]!.related_trace_id).toBeNull();
      const ids = async (q: string) =>
        ((await get(`/api/alerts?${q}`)).body.alerts as { id: string }[]).map((a) => a.id);
      expect(await ids('severity=error')).toEqual(['a1']);
      expect(await ids('severity=warn')).toEqual(['a2', 'a1']);
      expect(await ids('service=beorn')).toEqual(['a2']);
      expect(await ids(`trace_id=${TRACE}`)).toEqual(['a1']);
      expect(await ids(`start_time=${new Date(NOW_MS - 25 * 60_000).toISOString()}`)).toEqual(['a2']);
      expect((await get('/api/alerts?severity=panic')).body.detail).toMatch(/^severity: /);
    });

    it('GET /api/services counts logs, spans and errors per service over the window', async () => {
      const { body } = await get('/api/services?window=1h');
      const services = body.services as Record<string, unknown>[];
      expect(services.map((s) => s.service)).toEqual(['arda', 'beorn', 'palantir']);
      expect(services[1]).toMatchObject({
        log_count: 2,
        error_log_count: 0,
        span_count: 2,
        error_span_count: 0,
        error_rate: 0,
      });
      expect(services[2]).toMatchObject({
        log_count: 1,
        error_log_count: 1,
        span_count: 1,
        error_span_count: 1,
        error_rate: 1,
      });
      expect(services[0]).toMatchObject({
        log_count: 4,
        error_log_count: 1,
        span_count: 0,
        error_rate: 0.25,
      });
      const narrow = (await get('/api/services?window=15m')).body.services as { service: string }[];
      expect(narrow.map((s) => s.service)).toEqual(['arda']);
      expect((await get('/api/services?window=forever')).status).toBe(400);
      expect((await get('/api/patterns?limit=0')).status).toBe(400);
      expect((await get('/api/patterns?start_time=yesterday')).status).toBe(400);
    });

    it('GET /api/workflows lists active workflows with their last activity', async () => {
      const { body } = await get('/api/workflows?window=1h');
      expect(body.workflows).toEqual([
        expect.objectContaining({
          workflow_id: 'wf-postgres-003',
          log_count: 1,
          error_count: 1,
          services: ['arda'],
          last_message: 'Crashed',
        }),
        expect.objectContaining({ workflow_id: 'wf-mssql-002', log_count: 1, services: ['palantir'] }),
        expect.objectContaining({
          workflow_id: 'wf-snowflake-001',
          log_count: 2,
          error_count: 0,
          last_message: 'Retrying upstream call',
          last_severity_text: 'WARN',
          last_activity: new Date(NOW_MS - 40 * 60_000).toISOString().replace('Z', '000000Z'),
        }),
      ]);
      const narrow = (await get('/api/workflows?window=35m&service=palantir')).body.workflows as {
        workflow_id: string;
      }[];
      expect(narrow.map((w) => w.workflow_id)).toEqual(['wf-mssql-002']);
    });
  });

  describe('operations', () => {
    it('serves /health, /ready from the probes, /metrics and /openapi.json', async () => {
      expect(await get('/health')).toEqual({ status: 200, body: { status: 'ok' } });
      expect(await get('/ready')).toEqual({
        status: 200,
        body: { status: 'ready', checks: { clickhouse: { ok: true } } },
      });

      const metrics = await (await fetch(`${api.baseUrl}/metrics`)).text();
      expect(metrics).toMatch(
        /stacklens_api_requests_total\{method="GET",route="\/api\/traces\/:traceId",status="404"\} 1/,
      );
      expect(metrics).toMatch(/stacklens_api_request_duration_seconds_bucket\{.*route="\/api\/logs"/);
      expect(metrics).toContain('stacklens_api_live_connections');
      expect(metrics).toContain('process_cpu_user_seconds_total');

      const doc = (await get('/openapi.json')).body as unknown as {
        openapi: string;
        paths: Record<string, Record<string, { parameters: { name: string }[] }>>;
      };
      expect(doc.openapi).toBe('3.1.0');
      expect(Object.keys(doc.paths).sort()).toEqual(
        [
          '/',
          '/api/alerts',
          '/api/correlations',
          '/api/ingest/log',
          '/api/logs',
          '/api/patterns',
          '/api/services',
          '/api/traces/{traceId}',
          '/api/workflows',
          '/health',
          '/metrics',
          '/openapi.json',
          '/ready',
          '/sse/alerts',
          '/sse/logs',
          '/v1/logs',
          '/v1/traces',
          '/ws/alerts',
          '/ws/logs',
        ].sort(),
      );
      expect(Object.keys(doc.paths['/api/logs']!).sort()).toEqual(['get', 'post']);
      expect(doc.paths['/api/logs']!.get!.parameters.map((p) => p.name)).toEqual(
        expect.arrayContaining([
          'service',
          'level',
          'trace_id',
          'workflow_id',
          'q',
          'start_time',
          'end_time',
          'limit',
          'cursor',
          'attr.{name}',
        ]),
      );
    });

    it('answers 404 as JSON for unknown routes', async () => {
      expect(await get('/api/nothing')).toEqual({
        status: 404,
        body: { error: 'not_found', detail: 'no route for GET /api/nothing' },
      });
    });

    it('answers 503 when ClickHouse is unreachable, and /ready says which dependency is down', async () => {
      const unreachable = createClient({
        url: 'http://127.0.0.1:1',
        request_timeout: 2_000,
        log: { level: ClickHouseLogLevel.OFF },
      });
      const down = await startApi(
        deps(unreachable, {
          registry: new Registry(),
          probes: {
            clickhouse: async () =>
              (await unreachable.ping()).success ? { ok: true } : { ok: false, error: 'ping failed' },
            kafka: () => Promise.reject(new Error('broker unreachable')),
          },
        }),
      );
      try {
        const res = await fetch(`${down.baseUrl}/api/logs`);
        expect(res.status).toBe(503);
        expect(await res.json()).toEqual({
          error: 'dependency_unavailable',
          detail: 'clickhouse: unreachable',
        });
        const ready = await fetch(`${down.baseUrl}/ready`);
        expect(ready.status).toBe(503);
        expect(await ready.json()).toEqual({
          status: 'not_ready',
          checks: {
            clickhouse: { ok: false, error: 'ping failed' },
            kafka: { ok: false, error: 'broker unreachable' },
          },
        });
      } finally {
        await down.close();
        await unreachable.close();
      }
    });
  });

  describe('per-query limits', () => {
    /** The same data through an API with `limits`. */
    async function withLimits(limits: ApiDeps['limits'], path: string) {
      const limited = await startApi(deps(ch, { limits }));
      try {
        const res = await fetch(`${limited.baseUrl}${path}`);
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      } finally {
        await limited.close();
      }
    }

    it('cuts a page of logs at the result byte limit, flags it and continues at next_cursor', async () => {
      const full = (await get('/api/logs')).body.logs;
      const oneRow = Buffer.byteLength(JSON.stringify(full[0]));
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
        const { status, body } = await withLimits(
          { queryMaxResultBytes: 2 * oneRow + 100 },
          `/api/logs?limit=100${query}`,
        );
        expect(status).toBe(200);
        const logs = body.logs as { body: string }[];
        expect(logs.length).toBeGreaterThan(0);
        expect(logs.length).toBeLessThan(LOGS.length);
        seen.push(...logs.map((l) => l.body));
        cursor = body.next_cursor as string | null;
        expect(body.truncated).toBe(cursor !== null);
        pages++;
      } while (cursor !== null && pages < 10);
      expect(seen).toEqual(full.map((l) => l.body));
      expect(pages).toBeGreaterThan(1);
    });

    it('answers 400 naming the limit when a query would read, hold or return too much', async () => {
      const cases: [ApiDeps['limits'], string, RegExp][] = [
        [{ queryMaxReadBytes: 64 }, '/api/logs', /API_QUERY_MAX_READ_MB/],
        [{ queryMaxResultBytes: 64 }, `/api/traces/${TRACE}`, /API_QUERY_MAX_RESULT_MB/],
        [{ queryMaxMemoryBytes: 1_024 }, '/api/services', /API_QUERY_MAX_MEMORY_MB/],
      ];
      for (const [limits, path, limit] of cases) {
        const { status, body } = await withLimits(limits, path);
        expect({ path, status, error: body.error }).toEqual({ path, status: 400, error: 'query_too_large' });
        expect(body.detail).toMatch(limit);
      }
    });
  });
});
