import type { Logger } from '../common/logger';
import type { StackLensConfig } from '../config/config';
import { createRedactor } from '../processors/redact';
import { ArchiveSink } from '../sinks/archive/archive-sink';
import type { ArchiveStore, S3ArchiveOptions } from '../sinks/archive/store';
import type { Topology } from '../topology';
import type { StreamsAppOptions } from '../topology';
import { buildArchiveTopology } from './pipeline/archive-topology';
import { stackLensTopics } from './topics';

/**
 * The archive application's parts, apart from the pipeline's: it runs in its own thread
 * (archive-thread.ts), which must not load what the pipeline needs (chDB, the schema registry).
 */

export function s3ArchiveOptions(config: StackLensConfig): S3ArchiveOptions | undefined {
  const s3 = config.archive.s3;
  if (s3 === undefined) return undefined;
  const { accessKeyId, secretAccessKey } = s3;
  return {
    endpoint: s3.endpoint,
    bucket: s3.bucket,
    region: s3.region,
    credentials:
      accessKeyId !== undefined && secretAccessKey !== undefined
        ? { accessKeyId, secretAccessKey }
        : undefined,
  };
}

/** The archive topology as configured (see buildPipelineTopology). */
export function buildArchiveTopologyFor(
  config: StackLensConfig,
  store: ArchiveStore,
  logger: Logger,
): Topology {
  return buildArchiveTopology({
    topics: stackLensTopics(config),
    redactor: createRedactor(config.redaction),
    inputEncodings: config.inputEncodings,
    sinks: {
      logs: new ArchiveSink({ store, signal: 'logs', format: config.archive.format, log: logger }),
      traces: new ArchiveSink({ store, signal: 'traces', format: config.archive.format, log: logger }),
    },
  });
}

/**
 * Bytes an archive fetch waits for (up to ARCHIVE_FLUSH_SECONDS), and the most it takes from one
 * partition: the same bound, so that one busy partition alone can answer a fetch early.
 */
const ARCHIVE_FETCH_BYTES = 4 * 1024 * 1024;

/** The archive application's runtime options: its own group, one checkpoint per ARCHIVE_FLUSH_SECONDS. */
export function archiveAppOptions(
  config: StackLensConfig,
  instanceId: string,
): Omit<StreamsAppOptions, 'logger' | 'registry'> {
  return {
    applicationId: `${config.kafka.applicationId}-archive`,
    brokers: config.kafka.brokers,
    instanceId,
    processingGuarantee: config.kafka.processingGuarantee,
    exceptionPolicies: config.kafka.exceptionPolicies,
    // One checkpoint, so one object per partition, every ARCHIVE_FLUSH_SECONDS or 4 MiB.
    commitIntervalMs: config.archive.flushSeconds * 1_000,
    fetchMaxWaitMs: config.archive.flushSeconds * 1_000,
    fetchMinBytes: ARCHIVE_FETCH_BYTES,
    maxFetchBytesPerPartition: ARCHIVE_FETCH_BYTES,
  };
}
