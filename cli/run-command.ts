import { Command, InvalidArgumentError } from 'commander';
import { runStackLens } from '../app/run';
import { createLogger, type Logger } from '../common/logger';
import { loadConfig, type StackLensConfig } from '../config/config';
import { usesLocalStack, withLocalStackDefaults } from '../infra/local-stack-env';
import { LocalStack } from '../infra/stack';
import { stackSettingsFromEnv } from '../infra/stack-settings';

/**
 * Validates the configuration before anything starts. With no Kafka configured, the local stack
 * provides every endpoint the user did not set, and is brought up (installed on first use).
 */
export async function prepareRun(
  env: NodeJS.ProcessEnv,
): Promise<{ config: StackLensConfig; logger: Logger }> {
  const local = usesLocalStack(env);
  const settings = stackSettingsFromEnv(env);
  const config = loadConfig(local ? withLocalStackDefaults(env, settings) : env);
  const logger = createLogger({ level: config.log.level, format: config.log.format, name: 'stacklens' });
  if (local) {
    logger.info('KAFKA_BROKERS is not set: using the local stack (stacklens stack up)');
    await new LocalStack(logger.child({ component: 'stack' }), settings).up();
  }
  return { config, logger };
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

export function runCommand(): Command {
  return new Command('run')
    .description('run the pipeline and the API (against the local stack unless KAFKA_BROKERS is set)')
    .option('--demo', 'also run mock producers that write like the OpenTelemetry Collector', false)
    .option('--demo-rate <traces/s>', 'traces per second the demo producers generate', positiveNumber, 5)
    .action(async (options: { demo: boolean; demoRate: number }) => {
      const { config, logger } = await prepareRun(process.env);
      await runStackLens({ config, logger, demo: options.demo ? { rate: options.demoRate } : undefined });
    });
}
