import type { ClickHouseClient } from '@clickhouse/client';
import type { Express, Request, Response } from 'express';
import type { Registry } from 'prom-client';
import type { z } from 'zod';
import type { AlertSeverity } from '../../processors/records';
import type { ApiLimits } from '../deps';
import { NotFoundError } from '../errors';
import {
  alertsQuerySchema,
  correlationsQuerySchema,
  logsQuerySchema,
  parseQuery,
  parseWith,
  patternsQuerySchema,
  servicesQuerySchema,
  traceParamsSchema,
  workflowsQuerySchema,
  type LogsQuery,
  type RawQuery,
} from '../http/params';
import type { RouteDoc } from '../http/route-doc';
import { buildAlertsQuery, type AlertRow } from '../query/alerts-sql';
import { selectRows, type QueryLimits } from '../query/clickhouse';
import { buildCorrelationsQuery, type CorrelationRow } from '../query/correlations-sql';
import { decodeCursor, encodeCursor } from '../query/cursor';
import { WORKFLOW_ID_KEYS, type LogFilter } from '../query/log-filter';
import { buildLogsQuery, buildTraceLogsQuery, type LogRow } from '../query/logs-sql';
import { buildPatternsQuery, type PatternRow } from '../query/patterns-sql';
import { buildServicesQuery, type ServiceRow } from '../query/services-sql';
import { QueryAbandonedError, QueryGate } from '../query/query-gate';
import { boundedRange, nanosToIso, nowNanos, type RangeLimits } from '../query/time';
import { buildTraceTree } from '../query/trace-tree';
import { buildTraceSpansQuery, type SpanRow } from '../query/traces-sql';
import type { BuiltQuery } from '../query/sql';
import { buildWorkflowsQuery, type WorkflowRow } from '../query/workflows-sql';
import { ATTRIBUTE_PARAMS } from '../http/params';

export interface QueryRouteDeps {
  /** The API's own client (not the sinks'), so queries never wait behind the pipeline's writes. */
  clickhouse: ClickHouseClient;
  database: string;
  limits: ApiLimits;
  /** Where the query slot and outcome metrics go. */
  registry: Registry;
}

/** Runs one query of a request; `cutsResult`: the route cuts the response to the byte limit itself. */
type Select = <T>(built: BuiltQuery, options?: { cutsResult: boolean }) => Promise<T[]>;

/** Turns validated log parameters (REST or live) into a LogFilter. */
export function logFilterOf(
  params: Omit<LogsQuery, 'limit' | 'cursor'>,
  attributes: [string, string][],
): LogFilter {
  const promoted = ATTRIBUTE_PARAMS.flatMap((k) =>
    params[k] === undefined ? [] : [[k, params[k]] as [string, string]],
  );
  return {
    service: params.service,
    minSeverity: params.level,
    traceId: params.trace_id,
    spanId: params.span_id,
    workflowId: params.workflow_id,
    text: params.q,
    startNanos: params.start_time,
    endNanos: params.end_time,
    attributes: [...promoted, ...attributes],
  };
}

function presentLog(row: LogRow) {
  const { row_key: _key, ...rest } = row;
  return {
    ...rest,
    time: nanosToIso(row.time_unix_nano),
    severity_number: num(row.severity_number),
    workflow_id:
      WORKFLOW_ID_KEYS.map((k) => row.log_attributes[k] || row.resource_attributes[k]).find((v) => v) ?? '',
  };
}

const num = (v: string | number) => Number(v);

/**
 * One page of logs as JSON text, at most `maxBytes` of records: a page whose rows would pass it is cut
 * after the last row that fits (always at least one, so paging progresses), with `truncated: true` and a
 * next_cursor that continues from there. Each row is serialized once.
 */
function logPage(rows: readonly LogRow[], limit: number, maxBytes: number): string {
  const parts: string[] = [];
  let bytes = 0;
  let last: LogRow | undefined;
  let truncated = false;
  for (const row of rows.slice(0, limit)) {
    const json = JSON.stringify(presentLog(row));
    const size = Buffer.byteLength(json) + 1;
    if (parts.length > 0 && bytes + size > maxBytes) {
      truncated = true;
      break;
    }
    parts.push(json);
    bytes += size;
    last = row;
  }
  const next =
    (truncated || rows.length > limit) && last !== undefined
      ? encodeCursor({ timeNanos: BigInt(last.time_unix_nano), rowKey: last.row_key })
      : null;
  return `{"logs":[${parts.join(',')}],"next_cursor":${JSON.stringify(next)},"truncated":${truncated}}`;
}

/** Back to the Correlation shape of processors/records.ts, plus ISO times for display. */
function presentCorrelation(row: CorrelationRow) {
  const startNs = BigInt(row.start_time_unix_nano);
  const durationNs = BigInt(row.duration_ns);
  return {
    ...row,
    start_time: nanosToIso(row.start_time_unix_nano),
    end_time: nanosToIso(row.end_time_unix_nano),
    start_ms: Number(startNs / 1_000_000n),
    duration_ms: Number(durationNs / 1_000n) / 1_000,
    span_count: num(row.span_count),
    error_count: num(row.error_count),
    log_count: num(row.log_count),
    log_counts: Object.fromEntries(Object.entries(row.log_counts).map(([k, v]) => [k, num(v)])),
    gen_ai_input_tokens: num(row.gen_ai_input_tokens),
    gen_ai_output_tokens: num(row.gen_ai_output_tokens),
    log_ids_dropped: num(row.log_ids_dropped),
    version: num(row.version),
  };
}

/** Back to the seeds' alert event format (optional fields null, not ''). */
function presentAlert(row: AlertRow) {
  const { created_at_ms, window_start_ms, ...rest } = row;
  return {
    ...rest,
    automation_action: row.automation_action === '' ? null : row.automation_action,
    related_trace_id: row.related_trace_id === '' ? null : row.related_trace_id,
    confidence: num(row.confidence),
    count: num(row.count),
    created_at: new Date(Number(created_at_ms)).toISOString(),
    window_start: new Date(Number(window_start_ms)).toISOString(),
  };
}

/** Rows (ordered by service) as one entry per service with its patterns. */
function groupPatterns(rows: readonly PatternRow[]) {
  const services: { service: string; patterns: ReturnType<typeof presentPattern>[] }[] = [];
  for (const row of rows) {
    const last = services.at(-1);
    if (last?.service === row.service) last.patterns.push(presentPattern(row));
    else services.push({ service: row.service, patterns: [presentPattern(row)] });
  }
  return services;
}

function presentPattern(row: PatternRow) {
  return {
    pattern_id: num(row.pattern_id),
    template: row.template,
    first_seen: new Date(num(row.first_seen_ms)).toISOString(),
    count: num(row.total),
    bucket_seconds: num(row.bucket_seconds),
    buckets: row.buckets.map(([start, count]) => ({
      start: new Date(num(start)).toISOString(),
      count: num(count),
    })),
  };
}

export function registerQueryRoutes(app: Express, deps: QueryRouteDeps): RouteDoc[] {
  const { clickhouse: ch, database: db, limits } = deps;
  const logsSchema = logsQuerySchema(
    limits.defaultPageSize,
    limits.maxPageSize,
  ) as unknown as z.ZodType<LogsQuery>;
  const correlationsSchema = correlationsQuerySchema(limits.defaultPageSize, limits.maxPageSize);
  const alertsSchema = alertsQuerySchema(limits.defaultPageSize, limits.maxPageSize);
  const workflowsSchema = workflowsQuerySchema(limits.defaultPageSize, limits.maxPageSize);
  const patternsSchema = patternsQuerySchema(limits.defaultPageSize, limits.maxPageSize);
  const query = (req: Request) => req.query as RawQuery;
  const gate = new QueryGate({
    maxRunning: limits.maxConcurrentQueries,
    maxQueued: limits.maxQueuedQueries,
    maxWaitMs: limits.queryQueueTimeoutMs,
    registry: deps.registry,
  });
  const queryLimits: QueryLimits = {
    timeoutSeconds: limits.queryTimeoutSeconds,
    maxMemoryBytes: limits.queryMaxMemoryBytes,
    maxReadBytes: limits.queryMaxReadBytes,
    maxResultBytes: limits.queryMaxResultBytes,
  };
  const ranges: RangeLimits = {
    defaultHours: limits.defaultQueryRangeHours,
    maxHours: limits.maxQueryRangeHours,
  };

  /**
   * Runs a request's queries in one query slot (parameters are validated before, so a bad request never
   * waits for a slot). Once the client has gone (the response closed before it finished), queries not yet
   * started are not started, running ones are aborted (a server cancels them; chDB finishes and the
   * result is dropped) and nothing is written.
   */
  const guarded = async <R>(res: Response, work: (select: Select) => Promise<R>): Promise<R> => {
    const abort = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) abort.abort(new QueryAbandonedError('the client closed the connection'));
    };
    res.once('close', onClose);
    // A client that left while its parameters were checked has already closed.
    if (res.socket === null || res.socket.destroyed) onClose();
    try {
      return await gate.run(abort.signal, () =>
        work(<T>(built: BuiltQuery, options?: { cutsResult: boolean }) =>
          selectRows<T>(
            ch,
            built,
            options?.cutsResult === true ? { ...queryLimits, maxResultBytes: undefined } : queryLimits,
            abort.signal,
          ),
        ),
      );
    } finally {
      res.off('close', onClose);
    }
  };

  app.get('/api/logs', async (req, res) => {
    const { params, attributes } = parseQuery(logsSchema, query(req), true);
    const cursor = params.cursor === undefined ? undefined : decodeCursor(params.cursor);
    const range = boundedRange({ start: params.start_time, end: params.end_time }, ranges, nowNanos());
    const filter = {
      ...logFilterOf(params, attributes),
      startNanos: range.startNanos,
      endNanos: range.endNanos,
    };
    const rows = await guarded(res, (select) =>
      select<LogRow>(buildLogsQuery(db, filter, params.limit, cursor), { cutsResult: true }),
    );
    res.type('json').send(logPage(rows, params.limit, limits.queryMaxResultBytes));
  });

  app.get('/api/traces/:traceId', async (req, res) => {
    const { traceId } = parseWith(traceParamsSchema, req.params);
    const [spans, logs] = await guarded(res, (select) =>
      Promise.all([
        select<SpanRow>(buildTraceSpansQuery(db, traceId, limits.maxTraceSpans)),
        select<LogRow>(buildTraceLogsQuery(db, traceId, limits.maxTraceLogs)),
      ]),
    );
    if (spans.length === 0 && logs.length === 0)
      throw new NotFoundError(`no spans or logs for trace ${traceId}`);
    res.json({ ...buildTraceTree(traceId, spans), logs: logs.map(presentLog) });
  });

  app.get('/api/correlations', async (req, res) => {
    const p = parseWith(correlationsSchema, query(req));
    const range = boundedRange({ start: p.start_time, end: p.end_time }, ranges, nowNanos());
    const filter = { traceId: p.trace_id, service: p.service, ...range };
    const rows = await guarded(res, (select) =>
      select<CorrelationRow>(buildCorrelationsQuery(db, filter, p.limit)),
    );
    res.json({ correlations: rows.map(presentCorrelation) });
  });

  app.get('/api/alerts', async (req, res) => {
    const p = parseWith(alertsSchema, query(req));
    const filter = {
      minSeverity: p.severity as AlertSeverity | undefined,
      service: p.service,
      issueCode: p.issue_code,
      traceId: p.trace_id,
      ...boundedRange({ start: p.start_time, end: p.end_time }, ranges, nowNanos()),
    };
    const rows = await guarded(res, (select) => select<AlertRow>(buildAlertsQuery(db, filter, p.limit)));
    res.json({ alerts: rows.map(presentAlert) });
  });

  app.get('/api/services', async (req, res) => {
    const p = parseWith(servicesQuerySchema, query(req));
    const end = p.end_time ?? nowNanos();
    const { startNanos: start } = boundedRange(
      { start: p.start_time ?? end - BigInt(p.window) * 1_000_000_000n, end },
      ranges,
      end,
      p.start_time === undefined ? 'window' : 'start_time',
    );
    const rows = await guarded(res, (select) => select<ServiceRow>(buildServicesQuery(db, start, end)));
    res.json({
      start_time: nanosToIso(start.toString()),
      end_time: nanosToIso(end.toString()),
      services: rows.map((r) => {
        const logs = num(r.log_count);
        const spans = num(r.span_count);
        const logErrors = num(r.error_log_count);
        const spanErrors = num(r.error_span_count);
        return {
          service: r.service,
          log_count: logs,
          error_log_count: logErrors,
          span_count: spans,
          error_span_count: spanErrors,
          error_rate: logs + spans === 0 ? 0 : (logErrors + spanErrors) / (logs + spans),
          last_seen: nanosToIso(r.last_seen_unix_nano),
        };
      }),
    });
  });

  app.get('/api/workflows', async (req, res) => {
    const p = parseWith(workflowsSchema, query(req));
    const now = nowNanos();
    const { startNanos: since } = boundedRange(
      { start: now - BigInt(p.window) * 1_000_000_000n, end: now },
      ranges,
      now,
      'window',
    );
    const rows = await guarded(res, (select) =>
      select<WorkflowRow>(buildWorkflowsQuery(db, since, p.limit, p.service)),
    );
    res.json({
      workflows: rows.map((r) => ({
        workflow_id: r.workflow_id,
        first_seen: nanosToIso(r.first_seen_unix_nano),
        last_activity: nanosToIso(r.last_activity_unix_nano),
        log_count: num(r.log_count),
        error_count: num(r.error_count),
        services: r.services,
        last_severity_text: r.last_severity_text,
        last_message: r.last_message,
      })),
    });
  });

  app.get('/api/patterns', async (req, res) => {
    const p = parseWith(patternsSchema, query(req));
    const range = boundedRange({ start: p.start_time, end: p.end_time }, ranges, nowNanos());
    const rows = await guarded(res, (select) =>
      select<PatternRow>(buildPatternsQuery(db, range.startNanos, range.endNanos, p.limit, p.service)),
    );
    res.json({
      start_time: nanosToIso(range.startNanos.toString()),
      end_time: nanosToIso(range.endNanos.toString()),
      services: groupPatterns(rows),
    });
  });

  const byDefault = `by default over the last ${Math.min(limits.defaultQueryRangeHours, limits.maxQueryRangeHours)} h`;
  const common = {
    400: `A parameter is invalid, the time range is wider than API_MAX_QUERY_RANGE_HOURS (${limits.maxQueryRangeHours} h), or the query would pass a per-query limit (named in detail)`,
    401: 'Missing or invalid credentials',
    429: 'API_MAX_CONCURRENT_QUERIES queries are running and the wait queue is full; retry after Retry-After seconds',
    503: 'ClickHouse is unavailable',
  };
  return [
    {
      method: 'get',
      path: '/api/logs',
      tag: 'query',
      summary: `Logs, newest first, filtered (${byDefault}); cursor pagination stable under concurrent inserts; a page over the result byte limit is cut (truncated: true) and continues at next_cursor`,
      query: logsSchema,
      attributeFilters: true,
      responses: { 200: '{ logs, next_cursor, truncated }', ...common },
    },
    {
      method: 'get',
      path: '/api/traces/:traceId',
      tag: 'query',
      summary: "A trace's spans as a tree with timings, and its logs in time order",
      params: traceParamsSchema,
      responses: {
        200: '{ trace_id, start/end, duration_ms, span_count, error_count, services, roots, logs }',
        404: 'Unknown trace',
        ...common,
      },
    },
    {
      method: 'get',
      path: '/api/correlations',
      tag: 'query',
      summary: `Per-trace correlations, most recent first (${byDefault})`,
      query: correlationsSchema,
      responses: { 200: '{ correlations }', ...common },
    },
    {
      method: 'get',
      path: '/api/alerts',
      tag: 'query',
      summary: `Alerts, newest first (${byDefault})`,
      query: alertsSchema,
      responses: { 200: '{ alerts }', ...common },
    },
    {
      method: 'get',
      path: '/api/services',
      tag: 'query',
      summary: 'Services with log/span counts and error rates over a window',
      query: servicesQuerySchema,
      responses: { 200: '{ start_time, end_time, services }', ...common },
    },
    {
      method: 'get',
      path: '/api/workflows',
      tag: 'query',
      summary: 'Workflows active within a window, with their last activity',
      query: workflowsSchema,
      responses: { 200: '{ workflows }', ...common },
    },
    {
      method: 'get',
      path: '/api/patterns',
      tag: 'query',
      summary: `Mined log patterns per service, most frequent first (buckets ${byDefault}): template, first seen, count in the range and the newest buckets' counts`,
      query: patternsSchema,
      responses: {
        200: '{ start_time, end_time, services: [{ service, patterns: [{ pattern_id, template, first_seen, count, bucket_seconds, buckets: [{ start, count }] }] }] }',
        ...common,
      },
    },
  ];
}
