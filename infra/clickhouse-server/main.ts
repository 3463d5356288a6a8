/**
 * The local stack's ClickHouse process (infra/services/clickhouse.ts starts it): chDB behind the HTTP
 * interface until SIGTERM or SIGINT, then it closes its engine sessions, so chDB flushes and unlocks
 * its directory.
 */
import { Command } from 'commander';
import { port, positiveInteger } from '../../cli/option-values';
import { createLogger } from '../../common/logger';
import { startClickHouseServer } from './server';

const program = new Command('stacklens-clickhouse')
  .requiredOption('--path <dir>', "chDB's data directory")
  .option('--host <host>', 'address to bind', '127.0.0.1')
  .option('--port <port>', 'port to listen on (0: any free port)', port, 8123)
  .option('--sessions <n>', 'engine sessions, each running one statement at a time', positiveInteger, 4)
  .option('--max-body-mib <n>', 'largest request body', positiveInteger, 256)
  .action(
    async (opts: { path: string; host: string; port: number; sessions: number; maxBodyMib: number }) => {
      const log = createLogger({ level: 'info', format: 'text', name: 'clickhouse' });
      const server = await startClickHouseServer({
        host: opts.host,
        port: opts.port,
        path: opts.path,
        sessions: opts.sessions,
        maxBodyBytes: opts.maxBodyMib * 1024 * 1024,
        log,
      });
      const stop = (signal: string) => {
        log.info({ signal }, 'stopping');
        server.close().then(
          () => process.exit(0),
          (err: unknown) => {
            log.error({ err }, 'could not close cleanly');
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    },
  );

program.parseAsync().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
