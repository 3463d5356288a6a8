import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import { StackLensError } from '../common/errors';
import type { InputEncodings } from '../processors/pipeline';
import type { ArchiveFormat } from '../sinks/archive/layout';
import type { ExceptionPolicies } from '../topology';
import {
  MAX_SERIALIZED_RECORD_BYTES,
  maxSerializedRecordBytes,
  type RecordLimits,
} from '../processors/normalize/limits';

/** One or more configuration variables are invalid; the message names each one and why. */
export class ConfigError extends StackLensError {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** An optional string: unset and empty both mean "not configured". */
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const httpUrl = (what: string) =>
  z
    .string()
    .trim()
    .refine((v) => /^https?:\/\/[^\s/]+/.test(v) && URL.canParse(v), {
      message: `must be an http(s) URL for the ${what}, e.g. http://127.0.0.1:8123`,
    });

const optionalHttpUrl = (what: string) =>
  z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()))
    .pipe(httpUrl(what).optional());

/** A whole number in [min, max]; unset or empty stays undefined (falls back to another variable). */
const optionalInteger = (min: number, max: number, unit = '') =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return undefined;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({
          code: 'custom',
          message: `must be a whole number${unit} between ${min} and ${max}, got "${v}"`,
        });
        return z.NEVER;
      }
      return n;
    });

/** Like `optionalInteger`, with `fallback` when unset or empty. */
const integer = (fallback: number, min: number, max: number, unit = '') =>
  optionalInteger(min, max, unit).transform((n) => n ?? fallback);

const decimal = (fallback: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return fallback;
      const n = Number(v);
      if (!Number.isFinite(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `must be a number between ${min} and ${max}, got "${v}"` });
        return z.NEVER;
      }
      return n;
    });

const oneOf = <T extends readonly [string, ...string[]]>(values: T, fallback: T[number]) =>
  z
    .string()
    .optional()
    .transform((v, ctx): T[number] => {
      if (v === undefined || v.trim() === '') return fallback;
      const lower = v.trim().toLowerCase();
      if (!(values as readonly string[]).includes(lower)) {
        ctx.addIssue({ code: 'custom', message: `must be one of ${values.join(', ')}, got "${v}"` });
        return z.NEVER;
      }
      return lower as T[number];
    });

const brokerList = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const list = (v ?? '127.0.0.1:9092')
      .split(',')
      .map((b) => b.trim())
      .filter((b) => b !== '');
    const bad = list.filter((b) => !/^[A-Za-z0-9._-]+:\d{1,5}$/.test(b));
    if (list.length === 0 || bad.length > 0) {
      ctx.addIssue({
        code: 'custom',
        message: `must be a comma-separated list of host:port, got "${v ?? ''}"${bad.length > 0 ? ` (bad: ${bad.join(', ')})` : ''}`,
      });
      return z.NEVER;
    }
    return list;
  });

const identifier = (fallback: string, what: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const value = v === undefined || v.trim() === '' ? fallback : v.trim();
      if (!/^[A-Za-z][A-Za-z0-9._-]{0,99}$/.test(value)) {
        ctx.addIssue({
          code: 'custom',
          message: `must start with a letter and contain only letters, digits, '.', '_' or '-' (${what}), got "${v}"`,
        });
        return z.NEVER;
      }
      return value;
    });

const MIB = 1024 * 1024;

/** A comma-separated list, each entry trimmed and checked; unset or empty is an empty list. */
const listOf = (valid: (entry: string) => boolean, what: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const entries = (v ?? '')
        .split(',')
        .map((e) => e.trim().replace(/\/$/, ''))
        .filter((e) => e !== '');
      for (const entry of entries)
        if (!valid(entry)) ctx.addIssue({ code: 'custom', message: `"${entry}" is not ${what}` });
      return entries.map((e) => e.toLowerCase());
    });

/** Ten years of table retention; 0 (the default) keeps rows forever. */
const MAX_TTL_DAYS = 3_650;

/** Ten years: longer retention is better expressed as none at all, which operators set on the topic. */
const MAX_RETENTION_HOURS = 87_600;

/**
 * Every variable StackLens reads, with its default. README's configuration table documents the same
 * names (a unit test keeps the two in step).
 */
const envSchema = z.object({
  KAFKA_BROKERS: brokerList,
  APPLICATION_ID: identifier('stacklens', 'used for the consumer group and internal topic names'),
  PROCESSING_GUARANTEE: oneOf(['exactly_once', 'at_least_once'] as const, 'exactly_once'),
  COMMIT_INTERVAL_MS: integer(0, 0, 600_000, ' of milliseconds'),
  DESERIALIZATION_EXCEPTION_HANDLER: oneOf(['dead-letter', 'continue', 'fail'] as const, 'dead-letter'),
  PROCESSING_EXCEPTION_HANDLER: oneOf(['dead-letter', 'continue', 'fail'] as const, 'dead-letter'),
  REPARTITION_PURGE_INTERVAL_MS: integer(30_000, 0, 86_400_000, ' of milliseconds'),
  MAX_TASK_IDLE_MS: integer(0, -1, 600_000, ' of milliseconds'),
  INSTANCE_ID: z
    .string()
    .optional()
    .refine((v) => v === undefined || v.trim() === '' || /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(v.trim()), {
      message: "must start with a letter or digit and contain only letters, digits, '.', '_' or '-'",
    }),
  // Where the streams' key-value and window stores live: in memory (restored from the whole changelog at every
  // start, bounded by key counts) or on disk (LMDB, restored from a checkpoint, bounded by a cache).
  STATE_STORE: oneOf(['memory', 'lmdb'] as const, 'memory'),
  STATE_DIR: optionalString,
  STATE_CACHE_MB: integer(16, 1, 16_384, ' of MiB'),
  STATE_CLEANUP_DELAY_MS: integer(600_000, 0, 7 * 86_400_000, ' of milliseconds'),
  SCHEMA_REGISTRY_URL: httpUrl('schema registry').default('http://127.0.0.1:8081/apis/ccompat/v7'),
  SCHEMA_REGISTRY_TIMEOUT_MS: integer(15_000, 100, 600_000, ' of milliseconds'),
  CLICKHOUSE_URL: optionalHttpUrl('ClickHouse HTTP interface'),
  CLICKHOUSE_USER: z.string().default('default'),
  CLICKHOUSE_PASSWORD: z.string().default(''),
  CLICKHOUSE_DATABASE: identifier('stacklens', 'the ClickHouse database'),
  CHDB_PATH: optionalString,
  // Retention of the ClickHouse tables, rendered as the Collector exporter's TTL (0 keeps rows forever):
  // one default, and one override per table family.
  CLICKHOUSE_COMMIT_INTERVAL_MS: integer(1_000, 10, 600_000, ' of milliseconds'),
  CLICKHOUSE_TTL_DAYS: integer(0, 0, MAX_TTL_DAYS, ' of days'),
  CLICKHOUSE_LOGS_TTL_DAYS: optionalInteger(0, MAX_TTL_DAYS, ' of days'),
  CLICKHOUSE_TRACES_TTL_DAYS: optionalInteger(0, MAX_TTL_DAYS, ' of days'),
  CLICKHOUSE_CORRELATIONS_TTL_DAYS: optionalInteger(0, MAX_TTL_DAYS, ' of days'),
  CLICKHOUSE_ALERTS_TTL_DAYS: optionalInteger(0, MAX_TTL_DAYS, ' of days'),
  S3_ENDPOINT: optionalHttpUrl('S3 endpoint'),
  S3_BUCKET: z
    .string()
    .default('stacklens-archive')
    .refine((v) => /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(v), {
      message: 'must be a valid S3 bucket name (3-63 lowercase letters, digits, dots or hyphens)',
    }),
  S3_REGION: z.string().trim().min(1, 'must not be empty').default('us-east-1'),
  AWS_ACCESS_KEY_ID: optionalString,
  AWS_SECRET_ACCESS_KEY: optionalString,
  ARCHIVE_DIR: z.string().trim().min(1, 'must not be empty').default('.stack/archive'),
  ARCHIVE_FLUSH_SECONDS: integer(10, 1, 3_600, ' of seconds'),
  INPUT_ENCODING_LOGS: oneOf(['auto', 'otlp_proto', 'otlp_json', 'raw', 'text'] as const, 'auto'),
  INPUT_ENCODING_TRACES: oneOf(
    ['auto', 'otlp_proto', 'otlp_json', 'zipkin_proto', 'zipkin_json'] as const,
    'auto',
  ),
  ARCHIVE_MARSHALER: oneOf(['otlp_json', 'otlp_proto'] as const, 'otlp_json'),
  ARCHIVE_COMPRESSION: oneOf(['gzip', 'none'] as const, 'gzip'),
  CORR_WINDOW_SECONDS: integer(60, 1, 86_400, ' of seconds'),
  CORR_GRACE_SECONDS: integer(30, 0, 86_400, ' of seconds'),
  ALERT_RULES_FILE: z.string().trim().min(1, 'must not be empty').default('config/alert-rules.json'),
  // Alert delivery (app/delivery): receivers and routes are in the rules file, these are its runtime knobs.
  DELIVERY_LINK_BASE_URL: optionalHttpUrl('StackLens API in trace links of delivered alerts'),
  DELIVERY_COMMIT_INTERVAL_MS: integer(1_000, 10, 600_000, ' of milliseconds'),
  DELIVERY_STATE_RETENTION_HOURS: integer(90 * 24, 1, MAX_RETENTION_HOURS, ' of hours'),
  DELIVERY_MAX_ALERT_AGE_HOURS: integer(24, 1, MAX_RETENTION_HOURS, ' of hours'),
  PATTERN_MINING: oneOf(['on', 'off'] as const, 'on'),
  PATTERN_SIMILARITY: decimal(0.4, 0, 1),
  PATTERN_TREE_DEPTH: integer(4, 3, 16),
  PATTERN_MAX_PER_SERVICE: integer(1_000, 1, 100_000, ' of patterns'),
  PATTERN_BUCKET_SECONDS: integer(60, 1, 3_600, ' of seconds'),
  PATTERN_WARMUP_BUCKETS: integer(5, 1, 10_000, ' of buckets'),
  PATTERN_BAND_SIGMAS: decimal(4, 0.5, 100),
  HTTP_PORT: integer(8080, 1, 65_535),
  HTTP_HOST: z
    .string()
    .trim()
    .default('127.0.0.1')
    .refine((v) => /^[A-Za-z0-9.:-]+$/.test(v), {
      message: 'must be an IP address or host name to listen on, e.g. 127.0.0.1 or 0.0.0.0 in a container',
    }),
  API_AUTH: oneOf(['none', 'basic', 'token'] as const, 'none'),
  API_USERNAME: optionalString,
  API_PASSWORD: optionalString,
  API_TOKEN: optionalString,
  // Browser pages and Host names the API answers to besides its own (api/http/request-guard.ts).
  API_ALLOWED_ORIGINS: listOf(
    (v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol) && new URL(v).origin === v.toLowerCase(),
    'an origin such as https://dashboard.example.com:3000 (scheme, host and port; no path)',
  ),
  API_ALLOWED_HOSTS: listOf(
    (v) => /^[A-Za-z0-9_.-]{1,253}$/.test(v),
    'a host name such as stacklens.internal (no port)',
  ),
  // Ingest bounds; defaults follow the Collector's otlp receiver (20 MiB max_request_body_size).
  INGEST_MAX_BODY_BYTES: integer(20 * 1024 * 1024, 1024, 1024 * 1024 * 1024, ' of bytes'),
  INGEST_MAX_ITEMS: integer(200_000, 1, 100_000_000),
  INGEST_MAX_MESSAGE_BYTES: integer(1_000_000, 1024, 100 * 1024 * 1024, ' of bytes'),
  INGEST_BODY_TIMEOUT_SECONDS: integer(30, 1, 3_600, ' of seconds'),
  // Guardrails of the REST queries (api/query): concurrency, time range and per-query ClickHouse limits.
  API_MAX_CONCURRENT_QUERIES: integer(8, 1, 1_000),
  API_MAX_QUEUED_QUERIES: integer(32, 0, 10_000),
  API_MAX_QUERY_RANGE_HOURS: integer(7 * 24, 1, MAX_RETENTION_HOURS, ' of hours'),
  API_QUERY_MAX_MEMORY_MB: integer(1_024, 16, 1_048_576, ' of MiB'),
  API_QUERY_MAX_READ_MB: integer(10_240, 1, 1_073_741_824, ' of MiB'),
  API_QUERY_MAX_RESULT_MB: integer(16, 1, 1_024, ' of MiB'),
  LOG_LEVEL: oneOf(LOG_LEVELS, 'info'),
  LOG_FORMAT: oneOf(['json', 'text'] as const, 'json'),
  // Product topics, created at start when absent (sinks/kafka/topics.ts); defaults are the seeds' sizing.
  TOPIC_PREFIX: z
    .string()
    .default('')
    .refine((v) => /^[A-Za-z0-9._-]{0,100}$/.test(v), {
      message: "may contain only letters, digits, '.', '_' or '-'",
    }),
  TOPIC_OTEL_LOGS_PARTITIONS: integer(3, 1, 10_000),
  TOPIC_OTEL_LOGS_RETENTION_HOURS: integer(7 * 24, 1, MAX_RETENTION_HOURS, ' of hours'),
  TOPIC_OTEL_TRACES_PARTITIONS: integer(3, 1, 10_000),
  TOPIC_OTEL_TRACES_RETENTION_HOURS: integer(7 * 24, 1, MAX_RETENTION_HOURS, ' of hours'),
  TOPIC_ENRICHED_PARTITIONS: integer(3, 1, 10_000),
  TOPIC_ENRICHED_RETENTION_HOURS: integer(3 * 24, 1, MAX_RETENTION_HOURS, ' of hours'),
  TOPIC_ALERTS_PARTITIONS: integer(1, 1, 10_000),
  TOPIC_ALERTS_RETENTION_HOURS: integer(30 * 24, 1, MAX_RETENTION_HOURS, ' of hours'),
  TOPIC_LOG_PATTERNS_PARTITIONS: integer(3, 1, 10_000),
  TOPIC_LOG_PATTERNS_RETENTION_HOURS: integer(3 * 24, 1, MAX_RETENTION_HOURS, ' of hours'),
  // Bounds of one normalized record, so that any record fits every internal topic (defaults and why:
  // DEFAULT_RECORD_LIMITS in processors/normalize/limits.ts); sizes are bytes of the JSON form.
  RECORD_MAX_BODY_BYTES: integer(256 * 1024, 1024, 768 * 1024, ' of bytes'),
  RECORD_MAX_ATTRIBUTE_VALUE_BYTES: integer(16 * 1024, 256, 64 * 1024, ' of bytes'),
  RECORD_MAX_ATTRIBUTES: integer(128, 1, 10_000),
  RECORD_MAX_VALUE_DEPTH: integer(32, 1, 1_000),
  RECORD_MAX_BYTES: integer(512 * 1024, 16 * 1024, 880 * 1024, ' of bytes'),
  // Longest text PII redaction scans; longer text is truncated and marked (processors/redact/redactor.ts).
  REDACT_MAX_INPUT_CHARS: integer(262_144, 1024, 16 * 1024 * 1024, ' of characters'),
});

type Env = z.output<typeof envSchema>;

/** The names of every configuration variable. */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

/** Size and retention of one topic StackLens creates when it is absent. */
export interface TopicSettings {
  partitions: number;
  retentionHours: number;
}

export interface StackLensConfig {
  kafka: {
    brokers: string[];
    applicationId: string;
    processingGuarantee: 'exactly_once' | 'at_least_once';
    /** Undefined: Kafka Streams' default for the guarantee (100 ms exactly_once, 30 s at_least_once). */
    commitIntervalMs?: number;
    /** At least this long between two purges of committed repartition records (repartition.purge.interval.ms). */
    repartitionPurgeIntervalMs: number;
    /**
     * Kafka Streams' max.task.idle.ms: how long a task with several inputs (the correlator) waits for
     * an empty, caught-up input before processing the others; -1 never waits.
     */
    maxTaskIdleMs: number;
    /** This instance among those of the application: its transactional id is `${applicationId}-${instanceId}`. */
    instanceId: string;
    /** What becomes of input records that cannot be deserialized or processed (default: the DLQ). */
    exceptionPolicies: ExceptionPolicies;
    /**
     * Where key-value and window stores persist their state (LMDB under `<dir>/<application>/<instance>/<task>/<store>`);
     * undefined: in memory (STATE_STORE=memory).
     */
    stateDir?: string;
    /** Values a persistent store instance keeps deserialized in memory, in bytes. */
    stateCacheBytes: number;
    /** How long the state of a task this instance no longer owns stays on disk (Kafka Streams' state.cleanup.delay.ms). */
    stateCleanupDelayMs: number;
  };
  /** `requestTimeoutMs` bounds each request; a timed-out or 5xx request is retried (sinks/kafka/schema-registry-client.ts). */
  schemaRegistry: { url: string; requestTimeoutMs: number };
  /** `url` undefined means the embedded chDB engine at `chdbPath`. */
  clickhouse: {
    url?: string;
    user: string;
    password: string;
    database: string;
    chdbPath: string;
    /** How often the ClickHouse application inserts what it read and commits (app/pipeline/clickhouse-topology.ts). */
    commitIntervalMs: number;
    /** Days each table family keeps rows (0: forever), as the Collector exporter's `ttl`. */
    retentionDays: { logs: number; traces: number; correlations: number; alerts: number };
  };
  /** `s3` undefined means the file-system archive under `dir`. */
  archive: {
    s3?: { endpoint: string; bucket: string; region: string; accessKeyId?: string; secretAccessKey?: string };
    dir: string;
    flushSeconds: number;
    /** The awss3 exporter's `marshaler` and `compression`: what the archive objects hold. */
    format: ArchiveFormat;
  };
  /** What the input topics hold, as the Collector kafkareceiver's `encoding`. */
  inputEncodings: InputEncodings;
  correlation: { windowSeconds: number; graceSeconds: number };
  alerts: { rulesFile: string };
  /** Alert delivery to the rules file's receivers (consumer group `${applicationId}-delivery`). */
  delivery: {
    /** Base URL of the API, for the trace links in delivered alerts. */
    linkBaseUrl: string;
    /** How often delivery commits the alert offsets it has finished. */
    commitIntervalMs: number;
    /** How long an alert's delivery state is kept; at least the alerts topic's retention. */
    stateRetentionHours: number;
    /**
     * Alerts whose event time (created_at) is older than this when read are not delivered: a replay or
     * backfill of last week, or a first start on a full topic, does not page anyone for old incidents.
     */
    maxAlertAgeHours: number;
  };
  /** Log pattern mining (Drain) and its anomaly alerts; undefined when PATTERN_MINING=off. */
  patterns?: {
    similarity: number;
    treeDepth: number;
    maxPerService: number;
    bucketSeconds: number;
    warmupBuckets: number;
    bandSigmas: number;
  };
  http: {
    /** Interface the API listens on; 127.0.0.1 unless a container needs 0.0.0.0 to be reachable. */
    host: string;
    port: number;
    auth:
      | { kind: 'none' }
      | { kind: 'basic'; username: string; password: string }
      | { kind: 'token'; token: string };
    /**
     * Origins of other sites whose pages may open the WebSocket and SSE streams (the API's own origin
     * always may; requests without Origin, from non-browser clients, are not affected).
     */
    allowedOrigins: string[];
    /**
     * Host names served when a request arrives on a loopback address, besides localhost, *.localhost, IP
     * literals and `host`: anything else is refused (421) as a possible DNS-rebinding page.
     */
    allowedHosts: string[];
  };
  /** Bounds of the ingest endpoints (OTLP/HTTP and JSON). */
  ingest: {
    /** Largest body, after decompression. */
    maxBodyBytes: number;
    /** Elements (protobuf messages, JSON objects and array elements) one request may hold. */
    maxItems: number;
    /** Largest Kafka message ingest produces; keep it under the input topics' max.message.bytes. */
    maxMessageBytes: number;
    /** Time a request body may take to arrive. */
    bodyTimeoutSeconds: number;
  };
  log: { level: (typeof LOG_LEVELS)[number]; format: 'json' | 'text' };
  /** Bounds of the API's ClickHouse queries; sizes in bytes. */
  apiQueries: {
    maxConcurrent: number;
    maxQueued: number;
    maxRangeHours: number;
    maxMemoryBytes: number;
    maxReadBytes: number;
    maxResultBytes: number;
  };
  /** Size bounds of a normalized record (RECORD_MAX_*): what is over them is truncated and marked. */
  records: RecordLimits;
  /** Longest text redaction scans (REDACT_MAX_INPUT_CHARS); the rest is truncated and marked. */
  redaction: { maxInputChars: number };
  /** Prepended to the product topics' names (otel-logs, otel-traces, stacklens-*). */
  topicPrefix: string;
  /** The product topics' sizing, keyed like PRODUCT_TOPICS in sinks/kafka/topics.ts. */
  topics: {
    otelLogs: TopicSettings;
    otelTraces: TopicSettings;
    enriched: TopicSettings;
    alerts: TopicSettings;
    logPatterns: TopicSettings;
  };
}

/**
 * Reads and validates every variable at once, so a misconfigured start reports all problems in one
 * go instead of one per restart. Paths are resolved against `cwd`.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): StackLensConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  const problems = crossFieldProblems(e);
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    kafka: {
      brokers: e.KAFKA_BROKERS,
      applicationId: e.APPLICATION_ID,
      processingGuarantee: e.PROCESSING_GUARANTEE,
      commitIntervalMs: e.COMMIT_INTERVAL_MS === 0 ? undefined : e.COMMIT_INTERVAL_MS,
      exceptionPolicies: {
        deserialization: e.DESERIALIZATION_EXCEPTION_HANDLER,
        processing: e.PROCESSING_EXCEPTION_HANDLER,
      },
      repartitionPurgeIntervalMs: e.REPARTITION_PURGE_INTERVAL_MS,
      maxTaskIdleMs: e.MAX_TASK_IDLE_MS,
      instanceId:
        e.INSTANCE_ID === undefined || e.INSTANCE_ID.trim() === '' ? hostname() : e.INSTANCE_ID.trim(),
      stateDir: e.STATE_STORE === 'lmdb' ? resolve(cwd, e.STATE_DIR ?? '.stacklens/state') : undefined,
      stateCacheBytes: e.STATE_CACHE_MB * 1024 * 1024,
      stateCleanupDelayMs: e.STATE_CLEANUP_DELAY_MS,
    },
    schemaRegistry: { url: e.SCHEMA_REGISTRY_URL, requestTimeoutMs: e.SCHEMA_REGISTRY_TIMEOUT_MS },
    clickhouse: {
      url: e.CLICKHOUSE_URL,
      user: e.CLICKHOUSE_USER,
      password: e.CLICKHOUSE_PASSWORD,
      database: e.CLICKHOUSE_DATABASE,
      chdbPath: resolve(cwd, e.CHDB_PATH ?? '.stack/data/chdb'),
      commitIntervalMs: e.CLICKHOUSE_COMMIT_INTERVAL_MS,
      retentionDays: {
        logs: e.CLICKHOUSE_LOGS_TTL_DAYS ?? e.CLICKHOUSE_TTL_DAYS,
        traces: e.CLICKHOUSE_TRACES_TTL_DAYS ?? e.CLICKHOUSE_TTL_DAYS,
        correlations: e.CLICKHOUSE_CORRELATIONS_TTL_DAYS ?? e.CLICKHOUSE_TTL_DAYS,
        alerts: e.CLICKHOUSE_ALERTS_TTL_DAYS ?? e.CLICKHOUSE_TTL_DAYS,
      },
    },
    archive: {
      s3:
        e.S3_ENDPOINT === undefined
          ? undefined
          : {
              endpoint: e.S3_ENDPOINT,
              bucket: e.S3_BUCKET,
              region: e.S3_REGION,
              accessKeyId: e.AWS_ACCESS_KEY_ID,
              secretAccessKey: e.AWS_SECRET_ACCESS_KEY,
            },
      dir: resolve(cwd, e.ARCHIVE_DIR),
      flushSeconds: e.ARCHIVE_FLUSH_SECONDS,
      format: { marshaler: e.ARCHIVE_MARSHALER, compression: e.ARCHIVE_COMPRESSION },
    },
    inputEncodings: { logs: e.INPUT_ENCODING_LOGS, traces: e.INPUT_ENCODING_TRACES },
    correlation: { windowSeconds: e.CORR_WINDOW_SECONDS, graceSeconds: e.CORR_GRACE_SECONDS },
    alerts: { rulesFile: resolve(cwd, e.ALERT_RULES_FILE) },
    delivery: {
      linkBaseUrl:
        e.DELIVERY_LINK_BASE_URL ??
        `http://${e.HTTP_HOST === '0.0.0.0' ? '127.0.0.1' : e.HTTP_HOST}:${e.HTTP_PORT}`,
      commitIntervalMs: e.DELIVERY_COMMIT_INTERVAL_MS,
      stateRetentionHours: e.DELIVERY_STATE_RETENTION_HOURS,
      maxAlertAgeHours: e.DELIVERY_MAX_ALERT_AGE_HOURS,
    },
    patterns:
      e.PATTERN_MINING === 'off'
        ? undefined
        : {
            similarity: e.PATTERN_SIMILARITY,
            treeDepth: e.PATTERN_TREE_DEPTH,
            maxPerService: e.PATTERN_MAX_PER_SERVICE,
            bucketSeconds: e.PATTERN_BUCKET_SECONDS,
            warmupBuckets: e.PATTERN_WARMUP_BUCKETS,
            bandSigmas: e.PATTERN_BAND_SIGMAS,
          },
    http: {
      host: e.HTTP_HOST,
      port: e.HTTP_PORT,
      auth: authOf(e),
      allowedOrigins: e.API_ALLOWED_ORIGINS,
      allowedHosts: e.API_ALLOWED_HOSTS,
    },
    ingest: {
      maxBodyBytes: e.INGEST_MAX_BODY_BYTES,
      maxItems: e.INGEST_MAX_ITEMS,
      maxMessageBytes: e.INGEST_MAX_MESSAGE_BYTES,
      bodyTimeoutSeconds: e.INGEST_BODY_TIMEOUT_SECONDS,
    },
    log: { level: e.LOG_LEVEL, format: e.LOG_FORMAT },
    apiQueries: {
      maxConcurrent: e.API_MAX_CONCURRENT_QUERIES,
      maxQueued: e.API_MAX_QUEUED_QUERIES,
      maxRangeHours: e.API_MAX_QUERY_RANGE_HOURS,
      maxMemoryBytes: e.API_QUERY_MAX_MEMORY_MB * MIB,
      maxReadBytes: e.API_QUERY_MAX_READ_MB * MIB,
      maxResultBytes: e.API_QUERY_MAX_RESULT_MB * MIB,
    },
    records: recordLimitsOf(e),
    redaction: { maxInputChars: e.REDACT_MAX_INPUT_CHARS },
    topicPrefix: e.TOPIC_PREFIX,
    topics: {
      otelLogs: {
        partitions: e.TOPIC_OTEL_LOGS_PARTITIONS,
        retentionHours: e.TOPIC_OTEL_LOGS_RETENTION_HOURS,
      },
      otelTraces: {
        partitions: e.TOPIC_OTEL_TRACES_PARTITIONS,
        retentionHours: e.TOPIC_OTEL_TRACES_RETENTION_HOURS,
      },
      enriched: { partitions: e.TOPIC_ENRICHED_PARTITIONS, retentionHours: e.TOPIC_ENRICHED_RETENTION_HOURS },
      alerts: { partitions: e.TOPIC_ALERTS_PARTITIONS, retentionHours: e.TOPIC_ALERTS_RETENTION_HOURS },
      logPatterns: {
        partitions: e.TOPIC_LOG_PATTERNS_PARTITIONS,
        retentionHours: e.TOPIC_LOG_PATTERNS_RETENTION_HOURS,
      },
    },
  };
}

function crossFieldProblems(e: Env): string[] {
  const problems: string[] = [];
  if (e.API_AUTH === 'basic' && (e.API_USERNAME === undefined || e.API_PASSWORD === undefined)) {
    problems.push('API_USERNAME and API_PASSWORD: both must be set when API_AUTH=basic');
  }
  if (e.API_AUTH === 'token' && (e.API_TOKEN === undefined || e.API_TOKEN.length < 16)) {
    problems.push('API_TOKEN: must be set to a token of at least 16 characters when API_AUTH=token');
  }
  if ((e.AWS_ACCESS_KEY_ID === undefined) !== (e.AWS_SECRET_ACCESS_KEY === undefined)) {
    problems.push('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: set both or neither');
  }
  if (e.DELIVERY_STATE_RETENTION_HOURS < e.TOPIC_ALERTS_RETENTION_HOURS) {
    problems.push(
      'DELIVERY_STATE_RETENTION_HOURS: must be at least TOPIC_ALERTS_RETENTION_HOURS, or alerts still on the topic could be delivered again',
    );
  }
  if (e.RECORD_MAX_BODY_BYTES > e.RECORD_MAX_BYTES) {
    problems.push('RECORD_MAX_BODY_BYTES: must not exceed RECORD_MAX_BYTES');
  }
  if (maxSerializedRecordBytes(recordLimitsOf(e)) > MAX_SERIALIZED_RECORD_BYTES) {
    problems.push(
      `RECORD_MAX_BYTES and RECORD_MAX_ATTRIBUTE_VALUE_BYTES: RECORD_MAX_BYTES + 8 × RECORD_MAX_ATTRIBUTE_VALUE_BYTES + 8 KiB must be at most ${MAX_SERIALIZED_RECORD_BYTES} bytes, so a record stays under Kafka's 1 MiB message limit`,
    );
  }
  return problems;
}

function recordLimitsOf(e: Env): RecordLimits {
  return {
    maxBodyBytes: e.RECORD_MAX_BODY_BYTES,
    maxAttributeValueBytes: e.RECORD_MAX_ATTRIBUTE_VALUE_BYTES,
    maxAttributes: e.RECORD_MAX_ATTRIBUTES,
    maxValueDepth: e.RECORD_MAX_VALUE_DEPTH,
    maxRecordBytes: e.RECORD_MAX_BYTES,
  };
}

function authOf(e: Env): StackLensConfig['http']['auth'] {
  switch (e.API_AUTH) {
    case 'basic':
      return { kind: 'basic', username: e.API_USERNAME ?? '', password: e.API_PASSWORD ?? '' };
    case 'token':
      return { kind: 'token', token: e.API_TOKEN ?? '' };
    case 'none':
      return { kind: 'none' };
  }
}
