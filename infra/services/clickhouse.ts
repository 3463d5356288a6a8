import { existsSync } from 'node:fs';
import { extname, join } from 'node:path';
import { pidLifecycle } from '../pid-lifecycle';
import { StackServiceError, isPortOpen, runningPid, startDetached, waitUntil } from '../process';
import type { StackContext, StackService } from '../service';
import type { StackSettings } from '../stack-settings';

/**
 * The local stack's ClickHouse: chDB (an npm dependency, so nothing to download) behind ClickHouse's
 * HTTP interface in a process of its own (infra/clickhouse-server). StackLens reaches it through
 * CLICKHOUSE_URL, as it reaches a production server, so the engine's ~450 MiB and its threads are not
 * in the StackLens process.
 */
const SERVICE = 'clickhouse';
const START_TIMEOUT_MS = 60_000;

interface ClickHousePaths {
  data: string;
  logFile: string;
  pidFile: string;
}

function clickHousePaths(settings: StackSettings): ClickHousePaths {
  return {
    data: join(settings.dataDir, SERVICE),
    logFile: join(settings.logDir, `${SERVICE}.log`),
    pidFile: join(settings.runDir, `${SERVICE}.pid`),
  };
}

export function localClickHouseUrl(settings: StackSettings): string {
  return `http://${settings.host}:${settings.clickhousePort}`;
}

export interface ClickHouseProcessOptions {
  host: string;
  port: number;
  /** chDB's data directory. */
  path: string;
  /** The largest request body; the server's default (256 MiB) when absent. */
  maxBodyMiB?: number;
}

/**
 * The command line of the server process: the compiled entry beside this module, or, when this module
 * runs from TypeScript source (the test suite), the source entry through ts-node.
 */
export function clickHouseServerCommand(options: ClickHouseProcessOptions): {
  command: string;
  args: string[];
} {
  const ext = extname(__filename);
  const entry = join(__dirname, '..', 'clickhouse-server', `main${ext}`);
  if (!existsSync(entry))
    throw new StackServiceError(`the ClickHouse server entry ${entry} is missing: npm run build`);
  const loader = ext === '.ts' ? ['-r', 'ts-node/register/transpile-only'] : [];
  return {
    command: process.execPath,
    args: [
      ...loader,
      entry,
      '--host',
      options.host,
      '--port',
      String(options.port),
      '--path',
      options.path,
      ...(options.maxBodyMiB === undefined ? [] : ['--max-body-mib', String(options.maxBodyMiB)]),
    ],
  };
}

/** Starts a server detached (its PID in `pidFile`) and waits until it answers /ping. */
export async function startClickHouseProcess(
  spec: ClickHouseProcessOptions & { logFile: string; pidFile: string },
): Promise<number> {
  const pid = startDetached({
    ...clickHouseServerCommand(spec),
    logFile: spec.logFile,
    pidFile: spec.pidFile,
  });
  await waitUntilUp(`http://${spec.host}:${spec.port}`, spec);
  return pid;
}

/** Waits until the server at `url` answers /ping; fails with its log's tail if its process exits. */
function waitUntilUp(url: string, files: { logFile: string; pidFile: string }): Promise<void> {
  return waitUntil(
    async () => {
      const response = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(2_000) });
      return response.ok && (await response.text()) === 'Ok.\n';
    },
    {
      what: `ClickHouse (chDB) on ${url}`,
      timeoutMs: START_TIMEOUT_MS,
      intervalMs: 200,
      logFile: files.logFile,
      pidFile: files.pidFile,
    },
  );
}

async function start({ settings, log }: StackContext): Promise<void> {
  const paths = clickHousePaths(settings);
  const url = localClickHouseUrl(settings);
  if (runningPid(paths.pidFile) !== undefined) {
    await waitUntilUp(url, paths);
    return;
  }
  if (await isPortOpen(settings.host, settings.clickhousePort)) {
    throw new StackServiceError(
      `port ${settings.clickhousePort} is taken by a process that is not this stack's ClickHouse; set STACK_CLICKHOUSE_PORT`,
    );
  }
  const startedAt = Date.now();
  const pid = await startClickHouseProcess({
    host: settings.host,
    port: settings.clickhousePort,
    path: paths.data,
    logFile: paths.logFile,
    pidFile: paths.pidFile,
  });
  log.info({ pid, url, ms: Date.now() - startedAt }, 'ClickHouse (chDB) is ready');
}

export const clickHouseService: StackService = {
  name: SERVICE,
  install: () => Promise.resolve(),
  start,
  ...pidLifecycle({
    name: SERVICE,
    title: 'ClickHouse',
    paths: clickHousePaths,
    endpoint: localClickHouseUrl,
  }),
};
