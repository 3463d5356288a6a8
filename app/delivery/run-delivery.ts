import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Logger } from '../../common/logger';
import type { StackLensConfig } from '../../config/config';
import { DeliveryRulesError } from '../../processors/delivery';
import { stopOnSignals } from '../run';
import { loadDeliveryRules, startAlertDelivery } from './start-delivery';

export interface RunDeliveryOptions {
  config: StackLensConfig;
  logger: Logger;
  /** Serve the delivery metrics on http://127.0.0.1:<port>/metrics (0: a free port, logged). */
  metricsPort?: number;
}

/**
 * `stacklens deliver`: alert delivery alone, in its own process (the same consumer group as inside
 * `stacklens run`, so run one or the other, or several for failover). Stops on SIGTERM/SIGINT.
 */
export async function runDelivery(options: RunDeliveryOptions): Promise<void> {
  const { config, logger } = options;
  const rules = loadDeliveryRules(config, process.env);
  // Reading on without receivers would commit past alerts that receivers added later never get.
  if (rules.receivers.size === 0)
    throw new DeliveryRulesError(
      `${config.alerts.rulesFile} names no receivers: there is nothing to deliver to`,
    );
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const delivery = await startAlertDelivery({ config, rules, logger, registry });
  const server =
    options.metricsPort === undefined ? undefined : await serveMetrics(registry, options.metricsPort, logger);
  const stop = async (): Promise<void> => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await delivery.stop();
  };
  stopOnSignals(stop, logger);
  try {
    await delivery.done;
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

async function serveMetrics(registry: Registry, port: number, logger: Logger): Promise<Server> {
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => response.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address();
  logger.info(
    { port: typeof address === 'object' && address !== null ? address.port : port },
    'delivery metrics served on /metrics',
  );
  return server;
}
