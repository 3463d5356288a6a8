/**
 * The pipeline process of `stacklens bench`: startStackLens plus the API on a free port, configured by
 * the environment the benchmark passes (its own topic prefix, application id and chDB folder). Its own
 * process so its peak memory, CPU time and CPU profile are the pipeline's alone. Driven over the IPC channel
 * (see ./pipeline-protocol.ts).
 */
import { startApiServer } from '../app/api-server';
import { clickHouseOptions } from '../app/clickhouse-options';
import type { ClickHouseClient } from '@clickhouse/client';
import { kafkaClient, startStackLens } from '../app/stacklens-app';
import { stackLensTopics } from '../app/topics';
import { boundHeapGrowth } from '../common/heap-growth';
import { createLogger } from '../common/logger';
import { loadConfig } from '../config/config';
import { table } from '../api/query/sql';
import { createQueryClickHouse } from '../sinks/clickhouse/client';
import { TABLES } from '../sinks/clickhouse/migrations';
import { startCpuWindow, type RunningCpuWindow } from './cpu-window';
import { BenchError } from './errors';
import { ParentMessageSchema, type ChildMessage } from './pipeline-protocol';
import { ownPeakRssKb, sampleRssComposition } from './process-memory';

/** Resolves once the message is handed to the channel, so exiting right after does not lose it. */
function tell(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (process.send === undefined) resolve();
    else process.send(message, undefined, undefined, () => resolve());
  });
}

async function rowCounts(
  clickhouse: ClickHouseClient,
  database: string,
): Promise<{ logs: number; spans: number }> {
  // A query client resolves no default database (see createQueryClickHouse): names are qualified.
  const result = await clickhouse.query({
    query: `SELECT (SELECT count() FROM ${table(database, TABLES.logs)}) AS logs, (SELECT count() FROM ${table(database, TABLES.traces)}) AS spans`,
    format: 'JSONEachRow',
  });
  const [row] = await result.json<{ logs: string | number; spans: string | number }>();
  return { logs: Number(row?.logs ?? 0), spans: Number(row?.spans ?? 0) };
}

async function main(): Promise<void> {
  if (process.send === undefined)
    throw new BenchError('pipeline-process must be started by `stacklens bench`');
  const rss = sampleRssComposition();
  const config = loadConfig(process.env);
  const logger = createLogger({
    level: config.log.level,
    format: config.log.format,
    name: 'stacklens-bench',
  });
  const pipeline = await startStackLens({ config, logger, instanceId: config.kafka.applicationId });
  // The benchmark's count queries (every 200 ms) on a client of their own, as the API's are: on the
  // sinks' client (on chDB, one engine session running one statement at a time) each one queued
  // between the sinks' inserts and delayed the commits being measured.
  const counts = createQueryClickHouse({
    ...clickHouseOptions(config),
    maxOpenConnections: 1,
    requestTimeoutMs: 60_000,
  });
  const api = await startApiServer({
    config: { ...config, http: { ...config.http, host: '127.0.0.1', port: 0 } },
    logger,
    registry: pipeline.registry,
    processMetrics: () => pipeline.metrics(),
    clickhouse: pipeline.clickhouse,
    kafka: kafkaClient(config, logger, `${config.kafka.applicationId}-api`),
    schemaRegistry: pipeline.schemaRegistry,
    pipelineProblem: () => pipeline.problem(),
    topics: stackLensTopics(config),
  });

  const fail = (err: unknown) => {
    void tell({ type: 'failed', message: err instanceof Error ? err.message : String(err) }).then(() =>
      process.exit(1),
    );
  };
  pipeline.done.catch(fail);
  process.on('disconnect', () => process.exit(1));
  let window: Promise<RunningCpuWindow> | undefined;
  process.on('message', (raw: unknown) => {
    const message = ParentMessageSchema.parse(raw);
    if (message.type === 'counts') {
      rowCounts(counts, config.clickhouse.database).then(
        (counts) => void tell({ type: 'counts', id: message.id, ...counts }),
        fail,
      );
    } else if (message.type === 'profile-start') {
      if (window !== undefined) return fail(new BenchError('profile-start while a window is open'));
      window = startCpuWindow(message.cpuProfileFile);
      window.then(() => tell({ type: 'profile-started' }), fail);
    } else if (message.type === 'profile-stop') {
      if (window === undefined) return fail(new BenchError('profile-stop without profile-start'));
      const open = window;
      window = undefined;
      open.then((w) => w.stop()).then((spent) => tell({ type: 'profile-stopped', ...spent }), fail);
    } else {
      (async () => {
        await api.close();
        await counts.close();
        await pipeline.stop();
        const largestRssSample = rss.stop();
        await tell({ type: 'stopped', maxRssKb: ownPeakRssKb(), largestRssSample });
        process.exit(0);
      })().catch(fail);
    }
  });
  await tell({ type: 'ready', port: api.port });
}

// As `stacklens run` (cli/stacklens.ts): the benchmark measures the process users run.
boundHeapGrowth();
main().catch(async (err: unknown) => {
  console.error(err);
  await tell({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
