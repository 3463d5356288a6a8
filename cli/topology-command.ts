import { createClient } from '@clickhouse/client';
import { Command } from 'commander';
import { buildArchiveTopologyFor } from '../app/archive-app';
import { buildClickHouseTopologyFor, buildPipelineTopology } from '../app/stacklens-app';
import { createLogger } from '../common/logger';
import { loadConfig } from '../config/config';
import type { Alert, LogRecord } from '../processors/records';
import { FileSystemArchiveStore } from '../sinks/archive/store';
import { describeTopology, jsonSerde } from '../topology';

/**
 * `stacklens topology`: what `stacklens run` prints at start — sources, processors, stores,
 * internal topics and sinks of the pipeline, the ClickHouse application and the archive — without connecting to anything.
 * Describing needs only the topologies' shape: the ClickHouse client is never queried (the HTTP
 * client connects lazily), serdes and the archive store are not used.
 */
export function topologyCommand(): Command {
  return new Command('topology')
    .description(
      'describe the pipeline, ClickHouse and archive topologies (sources, processors, stores, topics, sinks)',
    )
    .action(() => {
      const config = loadConfig(process.env);
      const logger = createLogger({ level: 'silent', format: 'json' });
      const clickhouse = createClient({ url: config.clickhouse.url });
      const serdes = { enriched: jsonSerde<LogRecord>(), alerts: jsonSerde<Alert>() };
      const pipeline = buildPipelineTopology(config, { clickhouse, serdes, logger });
      const rows = buildClickHouseTopologyFor(config, { clickhouse, alertSerde: serdes.alerts, logger });
      const archive = buildArchiveTopologyFor(config, new FileSystemArchiveStore(config.archive.dir), logger);
      const { applicationId } = config.kafka;
      console.log(`pipeline (${applicationId})\n${describeTopology(pipeline, applicationId)}`);
      console.log(
        `ClickHouse (${applicationId}-clickhouse)\n${describeTopology(rows, `${applicationId}-clickhouse`)}`,
      );
      console.log(
        `archive (${applicationId}-archive)\n${describeTopology(archive, `${applicationId}-archive`)}`,
      );
    });
}
