import { Command } from 'commander';
import { runReplay } from '../app/replay/run-replay';
import { parseReplayRequest, type ReplayOptionValues } from '../app/replay/replay-arguments';
import { prepareRun } from './run-command';

/** `stacklens replay`: reprocess a range of the input topics, or of the archive, idempotently. */
export function replayCommand(): Command {
  return new Command('replay')
    .description(
      'reprocess a range of otel-logs/otel-traces (or of the archive) through the pipeline in its own consumer group; ' +
        'idempotent, and the same command resumes where it stopped',
    )
    .option(
      '--topic <topics>',
      'comma-separated input topics (otel-logs,otel-traces)',
      'otel-logs,otel-traces',
    )
    .option(
      '--from <time|offset>',
      'start, inclusive: an RFC 3339 time with zone, or an offset (every partition)',
    )
    .option(
      '--to <time|offset>',
      'end, exclusive: an RFC 3339 time or an offset; default: the end of the topics at start',
    )
    .option('--alerts', 'also publish re-derived alerts to stacklens-alerts (a backfill)', false)
    .option(
      '--archive',
      'read the archive (S3 or ARCHIVE_DIR) instead of the topics; --from/--to are times',
      false,
    )
    .option(
      '--to-topics',
      'with --archive: produce the archived requests back to otel-logs/otel-traces',
      false,
    )
    .option('--state-dir <dir>', 'where an archive replay remembers what it produced', '.stack/replay')
    .action(async (values: ReplayOptionValues & { stateDir: string }) => {
      // Validate the arguments before bringing anything up.
      const request = parseReplayRequest(values);
      const { config, logger } = await prepareRun(process.env);
      const completed = await runReplay({
        config,
        logger,
        request,
        stateDir: values.stateDir,
        output: process.stderr,
      });
      if (!completed) logger.info('replay stopped before its end: run the same command to resume');
    });
}
