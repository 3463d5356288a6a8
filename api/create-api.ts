import type { Server } from 'node:http';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { DEFAULT_INGEST_TOPICS, DEFAULT_LIMITS, type ApiDeps, type ApiLimits } from './deps';
import { NotFoundError } from './errors';
import { createAuthenticator } from './http/auth';
import { createApiMetrics } from './http/metrics';
import { buildOpenApi } from './http/openapi';
import { createRequestGuard } from './http/request-guard';
import type { RouteDoc } from './http/route-doc';
import { ConnectionGate, LiveChannel } from './live/hub';
import { attachWebSockets } from './live/websocket';
import { registerConsoleRoutes } from './routes/console-routes';
import { jsonErrorHandler } from './routes/errors';
import { registerIngestRoutes } from './routes/ingest-routes';
import { registerLiveRoutes } from './routes/live-routes';
import { registerOpsRoutes } from './routes/ops-routes';
import { registerQueryRoutes } from './routes/query-routes';

export interface Api {
  /** Express app serving every HTTP route (REST, SSE, ingest, operations). */
  app: Express;
  /** Adds the WebSocket endpoints to the HTTP server that serves `app`. */
  attach(server: Server): void;
  /** Disconnects live clients (with a notice) and stops the fan-out; does not close the HTTP server. */
  close(): Promise<void>;
}

/**
 * The HTTP API over what the pipeline materializes: ClickHouse queries, live streams fanned out from the
 * process's one LiveFeed, and ingest that produces to the input topics.
 */
export function createApi(deps: ApiDeps): Api {
  const limits: ApiLimits = { ...DEFAULT_LIMITS, ...deps.limits };
  const topics = { ...DEFAULT_INGEST_TOPICS, ...deps.topics };
  const metrics = createApiMetrics(deps.registry);
  const authenticate = createAuthenticator(deps.auth);
  const guard = createRequestGuard(deps.requestPolicy ?? { allowedOrigins: [], allowedHosts: [] });
  const gate = new ConnectionGate(limits.maxLiveConnections);
  const onDrop = (reason: string) => metrics.liveDropped.labels(reason).inc();
  const channelOptions = {
    resumeEvents: limits.resumeBufferEvents,
    clientBufferBytes: limits.liveClientBufferBytes,
    onDrop,
  };
  const logs = new LiveChannel(deps.live.logs$, channelOptions);
  const alerts = new LiveChannel(deps.live.alerts$, channelOptions);

  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(requestMetrics(metrics));
  // Before any route: the URL is parsed once, here, so no later parse of it can fail, and a Host that
  // could be a DNS-rebinding page is refused before it reaches anything.
  app.use((req: Request, _res: Response, next: NextFunction) => {
    guard.url(req);
    guard.checkHost(req);
    next();
  });

  // Liveness stays open whatever the auth mode: orchestrators probe it without credentials.
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  // The console's page and assets hold no data: served without credentials, it asks for them.
  const docs: RouteDoc[] = registerConsoleRoutes(app, deps.consoleDir);
  app.use((req: Request, _res: Response, next: NextFunction) => {
    authenticate(req, guard.url(req));
    next();
  });

  let openApi: object | undefined;
  docs.push(
    ...registerOpsRoutes(app, {
      probes: deps.probes,
      registry: deps.registry,
      processMetrics: deps.processMetrics,
      probeTimeoutMs: limits.probeTimeoutMs,
      openApi: () => (openApi ??= buildOpenApi(docs, deps.auth.kind)),
    }),
  );
  docs.push(
    ...registerQueryRoutes(app, {
      clickhouse: deps.clickhouse,
      database: deps.database,
      limits,
      registry: deps.registry,
    }),
  );
  const live = registerLiveRoutes(app, {
    logs,
    alerts,
    gate,
    metrics,
    heartbeatMs: limits.heartbeatMs,
    logger: deps.logger,
    authenticate,
    guard,
  });
  docs.push(...live.docs);
  docs.push(
    ...registerIngestRoutes(app, { producer: deps.ingest, topics, limits, metrics, logger: deps.logger }),
  );

  app.use((req: Request) => {
    throw new NotFoundError(`no route for ${req.method} ${req.path}`);
  });
  app.use(jsonErrorHandler(deps.logger));

  const detachers: (() => void)[] = [];
  return {
    app,
    attach(server: Server) {
      detachers.push(
        attachWebSockets(server, live.ws, {
          heartbeatMs: limits.heartbeatMs,
          gate,
          guard,
          logger: deps.logger,
        }),
      );
    },
    close() {
      // Channels first: each live client gets its `server_closing` notice while its socket is still open;
      // detaching first would close the WebSockets before the notice could be sent.
      logs.close();
      alerts.close();
      for (const detach of detachers.splice(0)) detach();
      return Promise.resolve();
    },
  };
}

/** Counts every request by route template (not raw path: ids would explode label cardinality). */
function requestMetrics(metrics: ReturnType<typeof createApiMetrics>) {
  return (req: Request, res: Response, next: NextFunction) => {
    const stop = metrics.duration.startTimer();
    res.on('finish', () => {
      const route = req.route
        ? `${req.baseUrl}${String((req.route as { path: unknown }).path)}`
        : 'unmatched';
      const labels = { method: req.method, route, status: String(res.statusCode) };
      metrics.requests.inc(labels);
      stop(labels);
    });
    next();
  };
}
