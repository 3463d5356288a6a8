import { Command } from 'commander';
import { runDelivery } from '../app/delivery/run-delivery';
import { port } from './option-values';
import { prepareRun } from './run-command';

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
