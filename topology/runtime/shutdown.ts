import type { Logger } from '../../common/logger';
import type { StreamsApp } from './streams-app';

/**
 * SIGTERM/SIGINT: stop fetching, commit the run in progress, leave the group, exit 0 (1 if the
 * application had failed or could not stop cleanly).
 */
export function stopOnSignals(
  app: StreamsApp,
  logger: Logger,
  exit: (code: number) => void = process.exit,
): void {
  const onSignal = (signal: NodeJS.Signals): void => {
    logger.info({ signal }, 'shutting down');
    app.stop().then(
      () => exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}
