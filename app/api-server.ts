import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { ClickHouseClient } from '@clickhouse/client';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Kafka } from 'kafkajs';
import type { MetricObjectWithValues, MetricValue, Registry } from 'prom-client';
import { createApi, DEFAULT_LIMITS, KafkaLiveFeed, kafkaIngestProducer } from '../api';
import { StackLensError } from '../common/errors';
import type { Logger } from '../common/logger';
import type { StackLensConfig } from '../config/config';
import { createQueryClickHouse } from '../sinks/clickhouse/client';
import { murmur2Partitioner } from '../topology';
import { clickHouseOptions } from './clickhouse-options';
import { defaultConsoleDir } from './console-dir';
import {
  archiveProbe,
  clickhouseProbe,
  kafkaProbe,
  pipelineProbe,
  schemaRegistryProbe,
  singleFlight,
} from './readiness-probes';

/** The API could not be started; the message says which part failed and the cause carries the detail. */
export class ApiServerStartError extends StackLensError {}

/** Another process listens on the configured port. */
export class ApiPortInUseError extends ApiServerStartError {
  constructor(
    readonly host: string,
    readonly port: number,
    options?: { cause?: unknown },
  ) {
    super(
      `cannot serve the API on ${host}:${port}: the port is in use (set HTTP_PORT to a free port)`,
      options,
    );
  }
}

/** The topics the API touches: ingest produces to `logs`/`traces`, live streams read `enriched`/`alerts`. */
export interface ApiServerTopics {
  logs: string;
  traces: string;
  enriched: string;
  alerts: string;
}

export interface ApiServerDeps {
  config: StackLensConfig;
  logger: Logger;
  /** prom-client registry shared with the runtime; served at /metrics. */
  registry: Registry;
  /** The sinks' client, for the readiness probe; already created and migrated by the caller, who also closes it. */
  clickhouse: ClickHouseClient;
  /** Caller-owned; the server creates (and disconnects) its own producer, admin and live consumer on it. */
  kafka: Kafka;
  /** Decodes the Avro records of the live topics. */
  schemaRegistry: SchemaRegistry;
  /** Every metric of the process (RunningStackLens.metrics), when some live outside `registry`. */
  processMetrics?: () => Promise<MetricObjectWithValues<MetricValue<string>>[]>;
  /** What keeps the pipeline from doing its job (StreamsApp.problem), undefined when nothing. */
  pipelineProblem: () => string | undefined;
  topics: ApiServerTopics;
  /** The built web console served at `/`; default dist/web of this package (web/build.mjs). */
  consoleDir?: string;
}

export interface ApiServer {
  /** The port actually listened on (the configured one, or the one the OS chose for port 0). */
  readonly port: number;
  /** Stops serving and releases everything the server created; safe to call more than once. */
  close(): Promise<void>;
}

/** How long close() lets live clients finish their closing handshake before cutting their connections. */
const SHUTDOWN_GRACE_MS = 5_000;

/** Time a client has to send its request headers, and its whole request. */
const HEADERS_TIMEOUT_MS = 20_000;
const REQUEST_TIMEOUT_MS = 60_000;
/** Broker acknowledgement wait of an ingest send, and the ingest transaction timeout (Kafka's own). */
const INGEST_ACK_TIMEOUT_MS = 10_000;
const INGEST_TRANSACTION_TIMEOUT_MS = 30_000;

/**
 * Serves the API on config.http.host:port: REST, SSE and WebSocket endpoints, ingest through an
 * idempotent producer of its own, live streams from one KafkaLiveFeed, and /ready over every dependency
 * (kafka, schema_registry, clickhouse, archive, live_feed, pipeline). The archive probe is built here
 * from config.archive. Kafka clients connect before the port opens, so no request meets a producer
 * that is not connected yet. Throws ApiServerStartError (ApiPortInUseError for a busy port) after
 * releasing whatever it had already opened.
 */
export async function startApiServer(deps: ApiServerDeps): Promise<ApiServer> {
  const { config, kafka, topics } = deps;
  const logger = deps.logger.child({ component: 'api' });
  const probeTimeoutMs = DEFAULT_LIMITS.probeTimeoutMs;

  // Not the runtime's transactional producer: ingest has its own, whose transactions give every request
  // a definite outcome (api/ingest/kafka-producer.ts). The id is unique per process so two APIs never
  // fence each other; a short transaction timeout bounds how long a crashed API's open transaction can
  // hold back the read_committed pipeline.
  const ingestTransactionalId = `${config.kafka.applicationId}-ingest-${randomUUID()}`;
  const ingest = kafkaIngestProducer(
    () =>
      kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        transactionalId: ingestTransactionalId,
        transactionTimeout: INGEST_TRANSACTION_TIMEOUT_MS,
        createPartitioner: murmur2Partitioner,
      }),
    { ackTimeoutMs: INGEST_ACK_TIMEOUT_MS, maxSendBytes: config.ingest.maxMessageBytes },
  );
  const admin = kafka.admin();
  const feed = new KafkaLiveFeed({
    kafka,
    groupPrefix: config.kafka.applicationId,
    logsTopic: topics.enriched,
    alertsTopic: topics.alerts,
    registry: deps.schemaRegistry,
    logger,
  });
  const archive = archiveProbe(config.archive, probeTimeoutMs);
  const limits = {
    maxConcurrentQueries: config.apiQueries.maxConcurrent,
    maxQueuedQueries: config.apiQueries.maxQueued,
    maxQueryRangeHours: config.apiQueries.maxRangeHours,
    queryMaxMemoryBytes: config.apiQueries.maxMemoryBytes,
    queryMaxReadBytes: config.apiQueries.maxReadBytes,
    queryMaxResultBytes: config.apiQueries.maxResultBytes,
    maxOtlpBodyBytes: config.ingest.maxBodyBytes,
    maxJsonBodyBytes: config.ingest.maxBodyBytes,
    maxIngestItems: config.ingest.maxItems,
    maxMessageBytes: config.ingest.maxMessageBytes,
    bodyTimeoutMs: config.ingest.bodyTimeoutSeconds * 1000,
  };
  // The API's own ClickHouse client: its queries never wait behind the pipeline's writes.
  const queries = createQueryClickHouse({
    ...clickHouseOptions(config),
    maxOpenConnections: limits.maxConcurrentQueries,
    requestTimeoutMs: (DEFAULT_LIMITS.queryTimeoutSeconds + 10) * 1_000,
  });

  const api = createApi({
    clickhouse: queries,
    database: config.clickhouse.database,
    live: feed,
    ingest,
    probes: {
      kafka: singleFlight(kafkaProbe(admin)),
      schema_registry: singleFlight(schemaRegistryProbe(config.schemaRegistry.url, probeTimeoutMs)),
      clickhouse: singleFlight(clickhouseProbe(deps.clickhouse)),
      archive: singleFlight(archive.probe),
      live_feed: () => feed.probe(),
      pipeline: pipelineProbe(deps.pipelineProblem),
    },
    registry: deps.registry,
    processMetrics: deps.processMetrics,
    auth: config.http.auth,
    // The configured listen host is a name the API is reached under, whatever else is listed.
    requestPolicy: {
      allowedOrigins: config.http.allowedOrigins,
      allowedHosts: [config.http.host, ...config.http.allowedHosts],
    },
    logger,
    topics: { logs: topics.logs, traces: topics.traces },
    limits,
    consoleDir: deps.consoleDir ?? defaultConsoleDir(),
  });

  /** Kafka clients and the S3 client, in dependency order; failures are logged, the rest still released. */
  const releaseClients = async () => {
    const steps: [string, () => Promise<void> | void][] = [
      ['live feed', () => feed.stop()],
      ['ingest producer', () => ingest.disconnect()],
      ['admin client', () => admin.disconnect()],
      ['archive probe', () => archive.close()],
      ['query client', () => queries.close()],
    ];
    for (const [what, release] of steps) {
      try {
        await release();
      } catch (err) {
        logger.warn({ err: (err as Error).message }, `could not release the API's ${what}`);
      }
    }
  };

  const server = createServer(api.app);
  // Node's defaults let a client take 300 s to send a request: bound headers and whole requests (bodies
  // have their own, shorter deadline in ingest). Long-lived responses (SSE) are not affected: these
  // bound receiving the request only.
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = Math.max(
    REQUEST_TIMEOUT_MS,
    config.ingest.bodyTimeoutSeconds * 1000 + HEADERS_TIMEOUT_MS,
  );
  api.attach(server);
  // Upgraded (WebSocket) and streaming (SSE) connections never go idle: close() may have to cut them.
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  let port: number;
  try {
    await Promise.all([ingest.connect(), admin.connect()]).catch((err: unknown) => {
      throw new ApiServerStartError(
        `cannot connect the API's Kafka clients to ${config.kafka.brokers.join(',')}`,
        { cause: err },
      );
    });
    await feed.start().catch((err: unknown) => {
      throw new ApiServerStartError(`cannot start the live feed on ${topics.enriched}, ${topics.alerts}`, {
        cause: err,
      });
    });
    port = await listen(server, config.http.host, config.http.port);
  } catch (err) {
    await api.close();
    await releaseClients();
    throw err;
  }
  logger.info({ host: config.http.host, port }, 'API listening');

  let closing: Promise<void> | undefined;
  const shutdown = async () => {
    // 1. Stop accepting; `stopped` settles once the last connection has ended.
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    // 2. Live clients get a notice and a close; finished keep-alive connections are dropped.
    await api.close();
    server.closeIdleConnections();
    if (!(await settlesWithin(stopped, SHUTDOWN_GRACE_MS))) {
      logger.warn({ connections: sockets.size }, 'cutting API connections that did not close in time');
      for (const socket of sockets) socket.destroy();
      await stopped;
    }
    // 3. Then the clients the server's routes used.
    await releaseClients();
    logger.info('API stopped');
  };
  return {
    port,
    close: () => (closing ??= shutdown()),
  };
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(
        err.code === 'EADDRINUSE'
          ? new ApiPortInUseError(host, port, { cause: err })
          : new ApiServerStartError(`cannot serve the API on ${host}:${port}: ${err.code ?? err.message}`, {
              cause: err,
            }),
      );
    };
    const onListening = () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

async function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
