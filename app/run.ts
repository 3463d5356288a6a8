import type { Logger } from '../common/logger';
import type { StackLensConfig } from '../config/config';
import type { DeliveryRules } from '../processors/delivery';
import { startApiServer } from './api-server';
import { startDemoProducers } from './demo/demo-producers';
import { loadDeliveryRules, startAlertDelivery, type RunningDelivery } from './delivery/start-delivery';
import { kafkaClient, startStackLens, type RunningStackLens } from './stacklens-app';
import { StartedComponents } from './started-components';
import { stackLensTopics } from './topics';

export interface RunOptions {
  config: StackLensConfig;
  logger: Logger;
  /** Mock producers writing like the OpenTelemetry Collector, `rate` traces per second. */
  demo?: { rate: number };
}

/**
 * `stacklens run`: the pipeline, the API and, with `--demo`, the mock producers; stopped in reverse
 * order on SIGTERM/SIGINT. Resolves when the pipeline stops; rejects if it fails.
 */
export async function runStackLens(options: RunOptions): Promise<void> {
  const { config, logger } = options;
  // Read before anything starts: an unset receiver secret stops the start with its name.
  const deliveryRules = loadDeliveryRules(config, process.env);
  const pipeline = await startStackLens({ config, logger });
  // If a later start fails (an API port already taken), the pipeline does not run on without its API.
  const started = new StartedComponents();
  started.add(() => pipeline.stop());
  const stop = (): Promise<void> => started.stopAll();
  let delivery: RunningDelivery | undefined;
  try {
    delivery = await startEdges(options, pipeline, deliveryRules, started);
  } catch (err) {
    await started.stopAfterFailedStart(logger);
    throw err;
  }
  stopOnSignals(stop, logger);
  try {
    await Promise.all([pipeline.done, delivery?.done]);
  } catch (err) {
    logger.fatal({ err }, 'the pipeline or alert delivery failed');
    await stop().catch(() => undefined);
    throw err;
  }
}

/**
 * The API, alert delivery and, with `--demo`, the mock producers around a started pipeline; each
 * one's stop goes onto `started` as it starts. Resolves with the delivery when it runs.
 */
async function startEdges(
  options: RunOptions,
  pipeline: RunningStackLens,
  deliveryRules: DeliveryRules,
  started: StartedComponents,
): Promise<RunningDelivery | undefined> {
  const { config, logger } = options;
  const topics = stackLensTopics(config);
  const api = await startApiServer({
    config,
    logger,
    registry: pipeline.registry,
    processMetrics: () => pipeline.metrics(),
    clickhouse: pipeline.clickhouse,
    kafka: kafkaClient(config, logger, `${config.kafka.applicationId}-api`),
    schemaRegistry: pipeline.schemaRegistry,
    pipelineProblem: () => pipeline.problem(),
    topics,
  });
  started.add(() => api.close());

  // Its own consumer group: delivery reads the alerts the pipeline published and never holds it back.
  let delivery: RunningDelivery | undefined;
  if (deliveryRules.receivers.size > 0) {
    const running = await startAlertDelivery({
      config,
      rules: deliveryRules,
      logger,
      registry: pipeline.registry,
    });
    started.add(() => running.stop());
    delivery = running;
  } else logger.info('the alert rules file names no receivers: alerts are not delivered');

  if (options.demo !== undefined) {
    const producer = kafkaClient(config, logger, `${config.kafka.applicationId}-demo`).producer();
    await producer.connect();
    started.add(() => producer.disconnect());
    const demo = startDemoProducers({
      producer,
      topics: { logs: topics.logs, traces: topics.traces },
      rate: options.demo.rate,
      log: logger.child({ component: 'demo' }),
    });
    started.add(() => demo.stop());
    logger.info({ rate: options.demo.rate }, 'demo producers writing to otel-logs and otel-traces');
  }
  return delivery;
}

/**
 * A stop that takes longer than this (a sink that does not answer, a commit stuck on the broker) is
 * cut short: exiting without the last commit is a crash, which the guarantees already cover (the
 * uncommitted records are processed again), while a process that ignores SIGTERM gets killed anyway,
 * later. Under Kubernetes' default 30 s grace period.
 */
const SHUTDOWN_DEADLINE_MS = 15_000;

/**
 * Runs `stop` once on SIGTERM or SIGINT, then exits 0 (1 if stopping failed or took longer than
 * SHUTDOWN_DEADLINE_MS). A second signal exits at once.
 */
export function stopOnSignals(stop: () => Promise<void>, logger: Logger): void {
  const onSignal = (signal: NodeJS.Signals): void => {
    logger.info({ signal }, 'shutting down');
    process.once(signal, () => {
      logger.warn({ signal }, 'second signal: exiting without finishing the stop');
      process.exit(1);
    });
    setTimeout(() => {
      logger.error(
        { deadlineMs: SHUTDOWN_DEADLINE_MS },
        'stop did not finish in time: exiting; uncommitted records will be processed again',
      );
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}
