/**
 * The archive application's thread (see archive-thread.ts): builds and runs the archive topology
 * with its own Kafka clients, archive store and metrics registry, driven over the parent port.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Registry } from 'prom-client';
import { createLogger } from '../common/logger';
import { startRetrying, StreamsApp } from '../topology';
import { createArchiveStore } from '../sinks/archive/store';
import { StackLensError } from '../common/errors';
import {
  ArchiveParentMessageSchema,
  type ArchiveChildMessage,
  type ArchiveWorkerData,
} from './archive-protocol';
import { archiveAppOptions, buildArchiveTopologyFor, s3ArchiveOptions } from './archive-app';

class ArchiveWorkerError extends StackLensError {}

async function main(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new ArchiveWorkerError('archive-worker must run in a worker thread');
  const { config, instanceId, log } = workerData as ArchiveWorkerData;
  const tell = (message: ArchiveChildMessage): void => port.postMessage(message);
  const logger = createLogger({ level: log.level, format: config.log.format, name: log.name });
  const registry = new Registry();
  const store = createArchiveStore({ s3: s3ArchiveOptions(config), dir: config.archive.dir });
  const topology = buildArchiveTopologyFor(config, store, logger);
  // Messages (a stop, metrics) wait in the port until the listener below is attached.
  const app = await startRetrying(
    () => new StreamsApp(topology, { ...archiveAppOptions(config, instanceId), logger, registry }),
    { log: logger },
  );
  app.done.catch((error: unknown) =>
    tell({ type: 'failed', message: error instanceof Error ? error.message : String(error) }),
  );
  port.on('message', (raw: unknown) => {
    const message = ArchiveParentMessageSchema.parse(raw);
    if (message.type === 'metrics') {
      void registry.getMetricsAsJSON().then((metrics) => tell({ type: 'metrics', id: message.id, metrics }));
      return;
    }
    void app
      .stop()
      .then(() => store.close())
      .then(
        () => tell({ type: 'stopped' }),
        (error: unknown) =>
          tell({ type: 'failed', message: error instanceof Error ? error.message : String(error) }),
      );
  });
  tell({ type: 'started', describe: app.describe() });
}

main().catch((error: unknown) => {
  parentPort?.postMessage({
    type: 'failed',
    message: error instanceof Error ? error.message : String(error),
  } satisfies ArchiveChildMessage);
});
