import { Counter, Gauge, Histogram, collectDefaultMetrics, type Registry } from 'prom-client';

export interface ApiMetrics {
  requests: Counter<'method' | 'route' | 'status'>;
  duration: Histogram<'method' | 'route' | 'status'>;
  liveConnections: Gauge<'transport' | 'stream'>;
  liveDropped: Counter<'reason'>;
  ingested: Counter<'endpoint' | 'outcome'>;
}

/**
 * The API's metrics, registered in the shared registry (not prom-client's global one). Creating the API
 * twice on one registry reuses the metrics instead of failing on duplicate names.
 */
export function createApiMetrics(registry: Registry): ApiMetrics {
  if (registry.getSingleMetric('process_cpu_user_seconds_total') === undefined)
    collectDefaultMetrics({ register: registry });
  const reuse = <M>(name: string, make: () => M): M =>
    (registry.getSingleMetric(name) as M | undefined) ?? make();
  return {
    requests: reuse(
      'stacklens_api_requests_total',
      () =>
        new Counter({
          name: 'stacklens_api_requests_total',
          help: 'HTTP requests by route template and status',
          labelNames: ['method', 'route', 'status'] as const,
          registers: [registry],
        }),
    ),
    duration: reuse(
      'stacklens_api_request_duration_seconds',
      () =>
        new Histogram({
          name: 'stacklens_api_request_duration_seconds',
          help: 'HTTP request latency by route template and status',
          labelNames: ['method', 'route', 'status'] as const,
          buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
          registers: [registry],
        }),
    ),
    liveConnections: reuse(
      'stacklens_api_live_connections',
      () =>
        new Gauge({
          name: 'stacklens_api_live_connections',
          help: 'Open live connections by transport (ws, sse) and stream (logs, alerts)',
          labelNames: ['transport', 'stream'] as const,
          registers: [registry],
        }),
    ),
    liveDropped: reuse(
      'stacklens_api_live_clients_dropped_total',
      () =>
        new Counter({
          name: 'stacklens_api_live_clients_dropped_total',
          help: 'Live clients disconnected by the server, by reason',
          labelNames: ['reason'] as const,
          registers: [registry],
        }),
    ),
    ingested: reuse(
      'stacklens_api_ingest_requests_total',
      () =>
        new Counter({
          name: 'stacklens_api_ingest_requests_total',
          help: 'Ingest requests by endpoint and outcome (accepted, rejected, unavailable)',
          labelNames: ['endpoint', 'outcome'] as const,
          registers: [registry],
        }),
    ),
  };
}
