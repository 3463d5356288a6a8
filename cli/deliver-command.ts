import { Command, InvalidArgumentError } from 'commander';
import { runDelivery } from '../app/delivery/run-delivery';
import { prepareRun } from './run-command';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535)
    throw new InvalidArgumentError('must be a port number (0: any free port)');
  return n;
}

export function deliverCommand(): Command {
  return new Command('deliver')
    .description(
      'deliver alerts from stacklens-alerts to the receivers of the alert rules file (what `stacklens run` also does), alone',
    )
    .option('--metrics-port <port>', 'serve Prometheus metrics on 127.0.0.1:<port>/metrics', port)
    .action(async (options: { metricsPort?: number }) => {
      const { config, logger } = await prepareRun(process.env);
      await runDelivery({ config, logger, metricsPort: options.metricsPort });
    });
}
