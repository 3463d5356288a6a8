#!/usr/bin/env node
import { Command } from 'commander';
import { StackLensError } from '../common/errors';
import { boundHeapGrowth } from '../common/heap-growth';
import { replayCommand } from './replay-command';
import { rulesCommand } from './rules-command';
import { benchCommand } from './bench-command';
import { deliverCommand } from './deliver-command';
import { runCommand } from './run-command';
import { stackCommand } from './stack-command';
import { topologyCommand } from './topology-command';

boundHeapGrowth();

const program = new Command('stacklens')
  .description('OpenTelemetry logs and traces from Kafka, correlated, queryable and alertable')
  .showHelpAfterError()
  .addCommand(runCommand())
  .addCommand(deliverCommand())
  .addCommand(replayCommand())
  .addCommand(rulesCommand())
  .addCommand(topologyCommand())
  .addCommand(stackCommand())
  .addCommand(benchCommand());

program.parseAsync(process.argv).catch((err: unknown) => {
  // Our own errors carry a message meant for the user; anything else is a bug worth a stack trace.
  console.error(err instanceof StackLensError ? `stacklens: ${err.message}` : err);
  process.exit(1);
});
