import type { Logger } from '../../common/logger';
import type { StackLensConfig } from '../../config/config';
import { replayArchive } from './archive-replay';
import { replayApplicationId, replayId, type ReplayRequest } from './replay-arguments';
import { progressReporter } from './replay-progress';
import { startTopicReplay } from './topic-replay';

export interface RunReplayOptions {
  config: StackLensConfig;
  logger: Logger;
  request: ReplayRequest;
  /** Where an archive replay keeps its markers (see ./archive-replay.ts). */
  stateDir: string;
  /** Where progress goes: a bar on a terminal, lines otherwise. */
  output: NodeJS.WriteStream;
}

/**
 * `stacklens replay`: runs the replay the request describes until it reaches its end or SIGINT /
 * SIGTERM, which stops it cleanly (the run in progress committed). Resolves true when the whole range
 * was processed, false when stopped early; the same request resumes.
 */
export async function runReplay(options: RunReplayOptions): Promise<boolean> {
  const { config, logger, request } = options;
  const id = replayId(request);
  const applicationId = replayApplicationId(config.kafka.applicationId, id);
  logger.info({ replay: id, applicationId }, 'replay starting (the same command resumes it)');
  const controller = new AbortController();
  let stopCurrent: (() => Promise<void>) | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    logger.info({ signal }, 'stopping the replay: committing what is processed');
    controller.abort();
    void stopCurrent?.();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    if (request.archive) {
      return await replayArchive({
        config,
        logger,
        request,
        applicationId,
        stateDir: options.stateDir,
        signal: controller.signal,
        output: options.output,
        onTopicReplay: (stop) => (stopCurrent = stop),
      });
    }
    const progress = progressReporter({ label: `replay ${id}`, stream: options.output });
    try {
      const replay = await startTopicReplay({
        config,
        logger,
        request,
        applicationId,
        onProgress: (p) => progress.update(p),
      });
      stopCurrent = () => replay.stop();
      if (controller.signal.aborted) await replay.stop();
      return (await replay.done).completed;
    } finally {
      progress.stop();
    }
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}
