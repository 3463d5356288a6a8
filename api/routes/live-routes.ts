import type { IncomingMessage } from 'node:http';
import type { Express, Request } from 'express';
import type { z } from 'zod';
import type { Logger } from '../../common/logger';
import type { Alert, AlertSeverity, LogRecord } from '../../processors/records';
import { BadParameterError, TooManyRequestsError } from '../errors';
import {
  liveAlertsQuerySchema,
  liveLogsQuerySchema,
  parseQuery,
  type LogsQuery,
  type RawQuery,
} from '../http/params';
import type { ApiMetrics } from '../http/metrics';
import type { RequestGuard } from '../http/request-guard';
import type { RouteDoc } from '../http/route-doc';
import { matchesAlert } from '../live/alert-filter';
import type { FrameOf } from '../live/frames';
import type { ConnectionGate, LiveChannel } from '../live/hub';
import { acceptsDecoded, type LiveRecord } from '../live/live-record';
import { serveSse, sseFrames } from '../live/sse';
import type { WsRoute } from '../live/websocket';
import { matchesLog } from '../query/log-filter';
import { logFilterOf } from './query-routes';

export interface LiveRouteDeps {
  logs: LiveChannel<LiveRecord<LogRecord>>;
  alerts: LiveChannel<LiveRecord<Alert>>;
  gate: ConnectionGate;
  metrics: ApiMetrics;
  heartbeatMs: number;
  logger: Logger;
  authenticate: (req: IncomingMessage, url: URL) => void;
  guard: RequestGuard;
}

/** Longest Last-Event-ID accepted (ids are `<epoch>-<seq>`, far shorter; same bound as `last_event_id`). */
const MAX_LAST_EVENT_ID = 128;

type LiveLogsQuery = Omit<LogsQuery, 'limit' | 'cursor' | 'start_time' | 'end_time'> & {
  last_event_id?: string;
};
type LiveAlertsQuery = { severity?: AlertSeverity; service?: string; last_event_id?: string };

const logsSchema = liveLogsQuerySchema as unknown as z.ZodType<LiveLogsQuery>;
const alertsSchema = liveAlertsQuerySchema as unknown as z.ZodType<LiveAlertsQuery>;

function queryOf(url: URL): RawQuery {
  const raw: Record<string, string | string[]> = {};
  for (const [k, v] of url.searchParams) {
    const prior = raw[k];
    raw[k] = prior === undefined ? v : ([] as string[]).concat(prior, v);
  }
  return raw;
}

/** Lower-cased bodies, shared by every client with a `q` filter: each record is lower-cased once. */
const lowerBodies = new WeakMap<LogRecord, string>();
function lowerBody(record: LogRecord): string {
  let lower = lowerBodies.get(record);
  if (lower === undefined) {
    lower = record.body.toLowerCase();
    lowerBodies.set(record, lower);
  }
  return lower;
}

function logAccepts(raw: RawQuery): {
  accepts: (r: LiveRecord<LogRecord>) => boolean;
  lastEventId?: string;
} {
  const { params, attributes } = parseQuery(logsSchema, raw, true);
  // `q` is matched here rather than by matchesLog, which lower-cases both sides on every call: the needle
  // is lower-cased once per client, the body once per record.
  const { q, ...rest } = params;
  const filter = logFilterOf(rest, attributes);
  const needle = q?.toLowerCase();
  return {
    accepts: acceptsDecoded<LogRecord>(
      (r) => matchesLog(filter, r) && (needle === undefined || lowerBody(r).includes(needle)),
    ),
    lastEventId: params.last_event_id,
  };
}

/** The Last-Event-ID header, else the `last_event_id` parameter; malformed ids resume at the live tail. */
function lastEventIdOf(req: Request, fromQuery: string | undefined): string | undefined {
  const header = req.headers['last-event-id'];
  if (header === undefined) return fromQuery;
  if (typeof header !== 'string' || header.length > MAX_LAST_EVENT_ID)
    throw new BadParameterError(
      'Last-Event-ID',
      `must be one event id of at most ${MAX_LAST_EVENT_ID} characters`,
    );
  return header;
}

function alertAccepts(raw: RawQuery): {
  accepts: (a: LiveRecord<Alert>) => boolean;
  lastEventId?: string;
} {
  const { params } = parseQuery(alertsSchema, raw);
  const filter = { minSeverity: params.severity, service: params.service };
  return {
    accepts: acceptsDecoded<Alert>((a) => matchesAlert(filter, a)),
    lastEventId: params.last_event_id,
  };
}

/** SSE routes (registered on the app) and WebSocket routes (returned, attached to the server later). */
export function registerLiveRoutes(
  app: Express,
  deps: LiveRouteDeps,
): { docs: RouteDoc[]; ws: Record<string, WsRoute<unknown>> } {
  const sse = <T>(
    req: Request,
    res: Parameters<typeof serveSse>[1],
    channel: LiveChannel<T>,
    stream: string,
    frame: FrameOf<T>,
    parse: (raw: RawQuery) => { accepts: (d: T) => boolean; lastEventId?: string },
  ) => {
    deps.guard.checkOrigin(req);
    const parsed = parse(req.query as RawQuery);
    const lastEventId = lastEventIdOf(req, parsed.lastEventId);
    const release = deps.gate.tryAcquire();
    if (release === undefined) throw new TooManyRequestsError('live connection limit reached');
    // A response emits 'close' once, however it ends (client gone, drop, shutdown, error answered).
    res.once('close', release);
    const gauge = deps.metrics.liveConnections.labels('sse', stream);
    serveSse(req, res, channel, parsed.accepts, lastEventId, {
      heartbeatMs: deps.heartbeatMs,
      frame,
      logger: deps.logger,
      onOpen: () => gauge.inc(),
      onClose: () => gauge.dec(),
    });
  };

  const logFrames = sseFrames<LiveRecord<LogRecord>>('log');
  const alertFrames = sseFrames<LiveRecord<Alert>>('alert');
  app.get('/sse/logs', (req, res) => sse(req, res, deps.logs, 'logs', logFrames, logAccepts));
  app.get('/sse/alerts', (req, res) => sse(req, res, deps.alerts, 'alerts', alertFrames, alertAccepts));

  const ws: Record<string, WsRoute<unknown>> = {
    '/ws/logs': {
      channel: deps.logs as LiveChannel<unknown>,
      type: 'log',
      gauge: deps.metrics.liveConnections.labels('ws', 'logs'),
      accept: (req, url) => {
        deps.authenticate(req, url);
        return logAccepts(queryOf(url)).accepts as (d: unknown) => boolean;
      },
    },
    '/ws/alerts': {
      channel: deps.alerts as LiveChannel<unknown>,
      type: 'alert',
      gauge: deps.metrics.liveConnections.labels('ws', 'alerts'),
      accept: (req, url) => {
        deps.authenticate(req, url);
        return alertAccepts(queryOf(url)).accepts as (d: unknown) => boolean;
      },
    },
  };

  const responses = {
    400: 'A filter, the URL or Last-Event-ID is invalid',
    401: 'Missing or invalid credentials',
    403: 'A browser page of another origin, not listed in API_ALLOWED_ORIGINS',
    421: 'A Host name this loopback listener does not answer to (see API_ALLOWED_HOSTS)',
    429: 'Live connection limit reached',
  };
  const docs: RouteDoc[] = [
    {
      method: 'get',
      path: '/sse/logs',
      tag: 'live',
      summary: 'Live tail of logs as Server-Sent Events (event: log, id: resumable with Last-Event-ID)',
      query: liveLogsQuerySchema,
      attributeFilters: true,
      produces: ['text/event-stream'],
      responses: { 200: 'Event stream', ...responses },
    },
    {
      method: 'get',
      path: '/sse/alerts',
      tag: 'live',
      summary: 'Live alerts as Server-Sent Events (event: alert)',
      query: liveAlertsQuerySchema,
      produces: ['text/event-stream'],
      responses: { 200: 'Event stream', ...responses },
    },
    {
      method: 'get',
      path: '/ws/logs',
      tag: 'live',
      summary:
        'WebSocket live tail of logs: messages { type: "log", id, data } and { type: "notice", code, message }',
      query: liveLogsQuerySchema,
      attributeFilters: true,
      responses: { 101: 'Switching protocols', ...responses },
    },
    {
      method: 'get',
      path: '/ws/alerts',
      tag: 'live',
      summary:
        'WebSocket live alerts: messages { type: "alert", id, data } and { type: "notice", code, message }',
      query: liveAlertsQuerySchema,
      responses: { 101: 'Switching protocols', ...responses },
    },
  ];
  return { docs, ws };
}
