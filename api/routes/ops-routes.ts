import type { Express } from 'express';
import {
  AggregatorRegistry,
  type MetricObjectWithValues,
  type MetricValue,
  type Registry,
} from 'prom-client';
import type { ProbeResult, ReadinessProbe } from '../deps';
import type { RouteDoc } from '../http/route-doc';

async function runProbe(probe: ReadinessProbe, timeoutMs: number): Promise<ProbeResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ProbeResult>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, error: `no answer within ${timeoutMs} ms` }), timeoutMs);
  });
  try {
    return await Promise.race([probe(), timeout]);
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}

/** /ready, /metrics and /openapi.json (/health is registered before authentication, see createApi). */
export function registerOpsRoutes(
  app: Express,
  deps: {
    probes: Readonly<Record<string, ReadinessProbe>>;
    registry: Registry;
    /** Every metric of the process when some live outside `registry` (the archive thread's). */
    processMetrics?: () => Promise<MetricObjectWithValues<MetricValue<string>>[]>;
    probeTimeoutMs: number;
    openApi: () => object;
  },
): RouteDoc[] {
  app.get('/ready', async (_req, res) => {
    const names = Object.keys(deps.probes);
    const results = await Promise.all(
      names.map((n) => runProbe(deps.probes[n] as ReadinessProbe, deps.probeTimeoutMs)),
    );
    const checks = Object.fromEntries(names.map((n, i) => [n, results[i]]));
    const ready = results.every((r) => r.ok);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks });
  });

  app.get('/metrics', async (_req, res) => {
    const registry =
      deps.processMetrics === undefined
        ? deps.registry
        : AggregatorRegistry.aggregate([await deps.processMetrics()]);
    res.type(registry.contentType).send(await registry.metrics());
  });

  app.get('/openapi.json', (_req, res) => {
    res.json(deps.openApi());
  });

  return [
    {
      method: 'get',
      path: '/health',
      tag: 'operations',
      summary: 'Liveness',
      authenticated: false,
      responses: { 200: '{ status: "ok" }' },
    },
    {
      method: 'get',
      path: '/ready',
      tag: 'operations',
      summary:
        'Readiness: every dependency probe (Kafka, schema registry, ClickHouse, archive, consumer group)',
      responses: { 200: '{ status: "ready", checks }', 503: '{ status: "not_ready", checks }' },
    },
    {
      method: 'get',
      path: '/metrics',
      tag: 'operations',
      summary: 'Prometheus metrics',
      produces: ['text/plain'],
      responses: { 200: 'Prometheus text format' },
    },
    {
      method: 'get',
      path: '/openapi.json',
      tag: 'operations',
      summary: 'This document',
      responses: { 200: 'OpenAPI 3.1 document' },
    },
  ];
}
