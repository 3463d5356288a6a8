import type { ClickHouseClient } from '@clickhouse/client';
import type { MetricObjectWithValues, MetricValue, Registry } from 'prom-client';
import type { Observable } from 'rxjs';
import type { Logger } from '../common/logger';
import type { StackLensConfig } from '../config/config';
import type { Alert, LogRecord } from '../processors/records';
import type { LiveRecord } from './live/live-record';
import type { RequestPolicy } from './http/request-guard';

/**
 * The process's single live view of the pipeline output. ONE Kafka consumer per process feeds it
 * (see ./live/kafka-live-feed.ts); the API fans it out to every WebSocket and SSE client. Records are
 * decoded only when a client needs them (see ./live/live-record.ts).
 */
export interface LiveFeed {
  readonly logs$: Observable<LiveRecord<LogRecord>>;
  readonly alerts$: Observable<LiveRecord<Alert>>;
}

/** One message to produce; `headers` carry e.g. `content-type` so the pipeline knows how to decode `value`. */
export interface IngestMessage {
  key?: string | null;
  value: Buffer | string;
  headers?: Record<string, string>;
}

/** Produces ingested payloads to Kafka; resolves only once the broker acknowledged every message. */
export interface IngestProducer {
  produce(topic: string, messages: readonly IngestMessage[]): Promise<void>;
}

export type ProbeResult = { ok: true } | { ok: false; error: string };

/** Checks one dependency; a rejection or a timeout counts as `{ ok: false }`. */
export type ReadinessProbe = () => Promise<ProbeResult>;

/** Tunables with safe defaults; tests shrink them. */
export interface ApiLimits {
  /** Default and maximum `limit` of the list endpoints. */
  defaultPageSize: number;
  maxPageSize: number;
  /** Bounds of what `GET /api/traces/:id` returns. */
  maxTraceSpans: number;
  maxTraceLogs: number;
  /** Largest accepted OTLP request body, after decompression (INGEST_MAX_BODY_BYTES). */
  maxOtlpBodyBytes: number;
  /** Largest accepted JSON body of `POST /api/logs` / `POST /api/ingest/log`, after decompression. */
  maxJsonBodyBytes: number;
  /** Elements (protobuf messages, JSON objects and array elements) one ingest request may hold (INGEST_MAX_ITEMS). */
  maxIngestItems: number;
  /** Largest Kafka message ingest produces; larger OTLP requests are split (INGEST_MAX_MESSAGE_BYTES). */
  maxMessageBytes: number;
  /** Time an ingest request's body may take to arrive (INGEST_BODY_TIMEOUT_SECONDS). */
  bodyTimeoutMs: number;
  /** Largest number of records in one `POST /api/logs` batch. */
  maxBatchRecords: number;
  /** Ingest requests handled at once; more are answered 429 (bounds memory held by request bodies). */
  maxInflightIngest: number;
  /** WebSocket + SSE connections this process serves at once. */
  maxLiveConnections: number;
  /** Bytes a live client may have queued before it is sent a notice and dropped. */
  liveClientBufferBytes: number;
  /** Events per stream kept for SSE `Last-Event-ID` resume. */
  resumeBufferEvents: number;
  heartbeatMs: number;
  probeTimeoutMs: number;
  /** ClickHouse max_execution_time of API queries. */
  queryTimeoutSeconds: number;
  /** REST queries run at once, and how many more may wait (then 429); see api/query/query-gate.ts. */
  maxConcurrentQueries: number;
  maxQueuedQueries: number;
  /** Longest wait for a query slot before 429. */
  queryQueueTimeoutMs: number;
  /** Time range queried when a request gives none, and the widest a request may ask for (else 400). */
  defaultQueryRangeHours: number;
  maxQueryRangeHours: number;
  /** ClickHouse max_memory_usage, max_bytes_to_read and max_result_bytes of each API query. */
  queryMaxMemoryBytes: number;
  queryMaxReadBytes: number;
  queryMaxResultBytes: number;
}

export const DEFAULT_LIMITS: ApiLimits = {
  defaultPageSize: 100,
  maxPageSize: 1_000,
  maxTraceSpans: 10_000,
  maxTraceLogs: 5_000,
  maxOtlpBodyBytes: 20 * 1024 * 1024,
  maxJsonBodyBytes: 4 * 1024 * 1024,
  maxIngestItems: 200_000,
  maxMessageBytes: 1_000_000,
  bodyTimeoutMs: 30_000,
  maxBatchRecords: 5_000,
  maxInflightIngest: 64,
  maxLiveConnections: 1_000,
  liveClientBufferBytes: 1024 * 1024,
  resumeBufferEvents: 1_000,
  heartbeatMs: 15_000,
  probeTimeoutMs: 3_000,
  queryTimeoutSeconds: 30,
  maxConcurrentQueries: 8,
  maxQueuedQueries: 32,
  queryQueueTimeoutMs: 10_000,
  defaultQueryRangeHours: 24,
  maxQueryRangeHours: 7 * 24,
  queryMaxMemoryBytes: 1024 * 1024 * 1024,
  queryMaxReadBytes: 10 * 1024 * 1024 * 1024,
  queryMaxResultBytes: 16 * 1024 * 1024,
};

export interface IngestTopics {
  logs: string;
  traces: string;
}

export const DEFAULT_INGEST_TOPICS: IngestTopics = { logs: 'otel-logs', traces: 'otel-traces' };

export interface ApiDeps {
  /** ClickHouse (or chDB through `chdb/connection`) holding the tables the sinks write. */
  clickhouse: ClickHouseClient;
  /** Database of those tables (config `clickhouse.database`). */
  database: string;
  live: LiveFeed;
  ingest: IngestProducer;
  /** Named readiness checks, e.g. kafka, schema_registry, clickhouse, archive, consumer_group. */
  probes: Readonly<Record<string, ReadinessProbe>>;
  /** Registry served at /metrics; the runtime registers its own metrics in the same one. */
  registry: Registry;
  /** Every metric of the process, served at /metrics instead, when some live outside `registry` (threads). */
  processMetrics?: () => Promise<MetricObjectWithValues<MetricValue<string>>[]>;
  auth: StackLensConfig['http']['auth'];
  logger: Logger;
  limits?: Partial<ApiLimits>;
  topics?: Partial<IngestTopics>;
  /** Allowed cross-origin pages and Host names; without it, same-origin only and loopback names only. */
  requestPolicy?: RequestPolicy;
  /** The built web console (index.html and assets/, see web/build.mjs), served at `/`; absent: none. */
  consoleDir?: string;
}
