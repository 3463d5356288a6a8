import { Command } from 'commander';
import { createLogger } from '../common/logger';
import { LocalStack } from '../infra/stack';

/** `stacklens stack install|up|down|status`: the local Kafka, schema registry and S3 servers. */
export function stackCommand(): Command {
  const stack = () => new LocalStack(createLogger({ level: 'info', format: 'text', name: 'stack' }));
  const command = new Command('stack').description(
    'install, start and stop the local stack (Kafka, schema registry, S3) under .stack/',
  );
  command
    .command('install')
    .description('download the services into the cache (.stack/cache) without starting them')
    .action(async () => stack().install());
  command
    .command('up')
    .description('install what is missing, start every service on 127.0.0.1 and wait until healthy')
    .action(async () => {
      const s = stack();
      await s.up();
      printStatus(await s.status());
    });
  command
    .command('down')
    .description('stop the services this stack started')
    .option('--wipe', 'also delete their data (downloads stay cached)', false)
    .action(async (options: { wipe: boolean }) => stack().down({ wipe: options.wipe }));
  command
    .command('status')
    .description('show which services run, with their endpoints and log files')
    .action(async () => {
      const statuses = await stack().status();
      printStatus(statuses);
      if (!statuses.every((s) => s.running)) process.exitCode = 3;
    });
  return command;
}

function printStatus(statuses: Awaited<ReturnType<LocalStack['status']>>): void {
  for (const s of statuses) {
    const state = s.running ? `running (pid ${s.pid ?? '?'})` : 'stopped';
    console.log(`${s.name.padEnd(16)} ${state.padEnd(22)} ${s.endpoint.padEnd(40)} log: ${s.logFile}`);
  }
}
