import type { IncomingMessage } from 'node:http';
import type { Express, Request } from 'express';
import type { z } from 'zod';
import type { Logger } from '../../common/logger';
import type { Alert, AlertSeverity, LogRecord } from '../../processors/records';
import { TooManyRequestsError } from '../errors';
import {
  liveAlertsQuerySchema,
  liveLogsQuerySchema,
  parseQuery,
  type LogsQuery,
  type RawQuery,
} from '../http/params';
import type { ApiMetrics } from '../http/metrics';
import type { RouteDoc } from '../http/route-doc';
import { matchesAlert } from '../live/alert-filter';
import type { ConnectionGate, LiveChannel } from '../live/hub';
import { serveSse } from '../live/sse';
import type { WsRoute } from '../live/websocket';
import { matchesLog } from '../query/log-filter';
import { logFilterOf } from './query-routes';

export interface LiveRouteDeps {
  logs: LiveChannel<LogRecord>;
  alerts: LiveChannel<Alert>;
  gate: ConnectionGate;
  metrics: ApiMetrics;
  heartbeatMs: number;
  logger: Logger;
  authenticate: (req: IncomingMessage, url: URL) => void;
}

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

function logAccepts(raw: RawQuery): { accepts: (r: LogRecord) => boolean; lastEventId?: string } {
  const { params, attributes } = parseQuery(logsSchema, raw, true);
  const filter = logFilterOf(params, attributes);
  return { accepts: (r) => matchesLog(filter, r), lastEventId: params.last_event_id };
}

function alertAccepts(raw: RawQuery): { accepts: (a: Alert) => boolean; lastEventId?: string } {
  const { params } = parseQuery(alertsSchema, raw);
  const filter = { minSeverity: params.severity, service: params.service };
  return { accepts: (a) => matchesAlert(filter, a), lastEventId: params.last_event_id };
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
    parsed: { accepts: (d: T) => boolean; lastEventId?: string },
  ) => {
    if (!deps.gate.tryAcquire()) throw new TooManyRequestsError('live connection limit reached');
    const gauge = deps.metrics.liveConnections.labels('sse', stream);
    const header = req.get('last-event-id');
    serveSse(req, res, channel, deps.gate, parsed.accepts, header ?? parsed.lastEventId, {
      heartbeatMs: deps.heartbeatMs,
      eventName: stream === 'logs' ? 'log' : 'alert',
      logger: deps.logger,
      onOpen: () => gauge.inc(),
      onClose: () => gauge.dec(),
    });
  };

  app.get('/sse/logs', (req, res) => sse(req, res, deps.logs, 'logs', logAccepts(req.query as RawQuery)));
  app.get('/sse/alerts', (req, res) =>
    sse(req, res, deps.alerts, 'alerts', alertAccepts(req.query as RawQuery)),
  );

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
    400: 'A filter is invalid',
    401: 'Missing or invalid credentials',
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
