import { hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_VARIABLES, ConfigError, loadConfig } from './config';

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env, '/srv/app');
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('gives documented defaults when nothing is set', () => {
    const config = loadConfig({}, '/srv/app');
    expect(config.kafka).toEqual({
      brokers: ['127.0.0.1:9092'],
      applicationId: 'stacklens',
      processingGuarantee: 'exactly_once',
      commitIntervalMs: undefined,
      repartitionPurgeIntervalMs: 30_000,
      maxTaskIdleMs: 0,
      instanceId: hostname(),
      exceptionPolicies: { deserialization: 'dead-letter', processing: 'dead-letter' },
      stateDir: undefined,
      stateCacheBytes: 16 * 1024 * 1024,
      stateCleanupDelayMs: 600_000,
    });
    expect(config.http).toEqual({
      host: '127.0.0.1',
      port: 8080,
      auth: { kind: 'none' },
      allowedOrigins: [],
      allowedHosts: [],
    });
    expect(config.clickhouse.url).toBeUndefined();
    expect(config.clickhouse.chdbPath).toBe('/srv/app/.stack/data/chdb');
    expect(config.archive.s3).toBeUndefined();
    expect(config.archive.dir).toBe('/srv/app/.stack/archive');
    expect(config.log).toEqual({ level: 'info', format: 'json' });
    expect(config.correlation.windowSeconds).toBe(60);
  });

  it('takes the commit interval, the purge interval, the exception policies and the instance id from the environment', () => {
    const config = loadConfig({
      COMMIT_INTERVAL_MS: '250',
      INSTANCE_ID: 'pod-7',
      REPARTITION_PURGE_INTERVAL_MS: '5000',
      PROCESSING_EXCEPTION_HANDLER: 'fail',
    });
    expect(config.kafka.exceptionPolicies).toEqual({ deserialization: 'dead-letter', processing: 'fail' });
    expect(() => loadConfig({ DESERIALIZATION_EXCEPTION_HANDLER: 'skip' })).toThrow(
      /DESERIALIZATION_EXCEPTION_HANDLER/,
    );
    expect(config.kafka.commitIntervalMs).toBe(250);
    expect(config.kafka.repartitionPurgeIntervalMs).toBe(5_000);
    expect(config.kafka.instanceId).toBe('pod-7');
    expect(() => loadConfig({ INSTANCE_ID: 'no spaces' })).toThrow(/INSTANCE_ID/);
  });

  it('keeps state stores in memory by default; STATE_STORE=lmdb puts them under STATE_DIR, relative to the working directory', () => {
    expect(loadConfig({}, '/srv/app').kafka.stateDir).toBeUndefined();
    const config = loadConfig({ STATE_STORE: 'lmdb', STATE_CACHE_MB: '64' }, '/srv/app');
    expect(config.kafka.stateDir).toBe('/srv/app/.stacklens/state');
    expect(config.kafka.stateCacheBytes).toBe(64 * 1024 * 1024);
    expect(
      loadConfig({ STATE_STORE: 'lmdb', STATE_DIR: '/var/lib/stacklens' }, '/srv/app').kafka.stateDir,
    ).toBe('/var/lib/stacklens');
    expect(() => loadConfig({ STATE_STORE: 'rocksdb' })).toThrow(/STATE_STORE/);
    expect(() => loadConfig({ STATE_CACHE_MB: '0' })).toThrow(/STATE_CACHE_MB/);
    expect(loadConfig({ STATE_CLEANUP_DELAY_MS: '60000' }).kafka.stateCleanupDelayMs).toBe(60_000);
    expect(() => loadConfig({ STATE_CLEANUP_DELAY_MS: '-1' })).toThrow(/STATE_CLEANUP_DELAY_MS/);
  });

  it('takes max.task.idle.ms from the environment, -1 (never wait) included', () => {
    expect(loadConfig({ MAX_TASK_IDLE_MS: '500' }).kafka.maxTaskIdleMs).toBe(500);
    expect(loadConfig({ MAX_TASK_IDLE_MS: '-1' }).kafka.maxTaskIdleMs).toBe(-1);
    expect(() => loadConfig({ MAX_TASK_IDLE_MS: '-2' })).toThrow(/MAX_TASK_IDLE_MS/);
  });

  it('reads external services when configured', () => {
    const config = loadConfig(
      {
        KAFKA_BROKERS: 'k1:9092, k2:9093',
        CLICKHOUSE_URL: 'https://ch.example:8443',
        CLICKHOUSE_USER: 'ingest',
        CLICKHOUSE_PASSWORD: 'pw',
        S3_ENDPOINT: 'http://minio:9000',
        S3_BUCKET: 'logs-archive',
        AWS_ACCESS_KEY_ID: 'id',
        AWS_SECRET_ACCESS_KEY: 'secret',
        LOG_FORMAT: 'TEXT',
      },
      '/srv/app',
    );
    expect(config.kafka.brokers).toEqual(['k1:9092', 'k2:9093']);
    expect(config.clickhouse).toMatchObject({
      url: 'https://ch.example:8443',
      user: 'ingest',
      password: 'pw',
    });
    expect(config.archive.s3).toEqual({
      endpoint: 'http://minio:9000',
      bucket: 'logs-archive',
      region: 'us-east-1',
      accessKeyId: 'id',
      secretAccessKey: 'secret',
    });
    expect(config.log.format).toBe('text');
  });

  it.each([
    ['KAFKA_BROKERS', 'localhost', /KAFKA_BROKERS: must be a comma-separated list of host:port/],
    ['HTTP_PORT', 'eighty', /HTTP_PORT: must be a whole number between 1 and 65535, got "eighty"/],
    ['HTTP_PORT', '70000', /HTTP_PORT: .*got "70000"/],
    ['HTTP_HOST', 'any host', /HTTP_HOST: must be an IP address or host name/],
    ['APPLICATION_ID', '1 bad id', /APPLICATION_ID: must start with a letter/],
    ['PROCESSING_GUARANTEE', 'maybe', /PROCESSING_GUARANTEE: must be one of exactly_once, at_least_once/],
    ['SCHEMA_REGISTRY_URL', 'registry:8081', /SCHEMA_REGISTRY_URL: must be an http\(s\) URL/],
    ['CLICKHOUSE_URL', 'tcp://ch:9000', /CLICKHOUSE_URL: must be an http\(s\) URL/],
    ['CLICKHOUSE_DATABASE', 'drop table;', /CLICKHOUSE_DATABASE: must start with a letter/],
    ['S3_ENDPOINT', 'minio', /S3_ENDPOINT: must be an http\(s\) URL/],
    ['S3_BUCKET', 'Bad_Bucket', /S3_BUCKET: must be a valid S3 bucket name/],
    [
      'ARCHIVE_FLUSH_SECONDS',
      '0',
      /ARCHIVE_FLUSH_SECONDS: must be a whole number of seconds between 1 and 3600/,
    ],
    ['CORR_WINDOW_SECONDS', '1.5', /CORR_WINDOW_SECONDS: .*got "1.5"/],
    ['API_AUTH', 'oauth', /API_AUTH: must be one of none, basic, token/],
    ['LOG_LEVEL', 'verbose', /LOG_LEVEL: must be one of trace, debug, info/],
    ['LOG_FORMAT', 'xml', /LOG_FORMAT: must be one of json, text/],
    [
      'API_ALLOWED_ORIGINS',
      'https://dash.example.com/app',
      /API_ALLOWED_ORIGINS: "https:\/\/dash.*" is not an origin/,
    ],
    ['API_ALLOWED_ORIGINS', 'dash.example.com', /API_ALLOWED_ORIGINS: "dash.example.com" is not an origin/],
    [
      'API_ALLOWED_HOSTS',
      'stacklens.internal:8080',
      /API_ALLOWED_HOSTS: "stacklens.internal:8080" is not a host name/,
    ],
  ])('rejects %s=%s naming the variable', (name, value, message) => {
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it('reports every invalid variable at once', () => {
    const problems = problemsOf({ HTTP_PORT: 'x', LOG_FORMAT: 'xml', KAFKA_BROKERS: '' });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['HTTP_PORT', 'KAFKA_BROKERS', 'LOG_FORMAT']);
  });

  it('requires credentials that match the chosen API auth', () => {
    expect(problemsOf({ API_AUTH: 'basic', API_USERNAME: 'ops' })[0]).toMatch(
      /API_USERNAME and API_PASSWORD/,
    );
    expect(problemsOf({ API_AUTH: 'token', API_TOKEN: 'short' })[0]).toMatch(/API_TOKEN: .*at least 16/);
    expect(loadConfig({ API_AUTH: 'token', API_TOKEN: 'a-long-enough-token' }).http.auth).toEqual({
      kind: 'token',
      token: 'a-long-enough-token',
    });
  });

  it('reads the allowed origins and hosts as normalized lists', () => {
    const { http } = loadConfig({
      API_ALLOWED_ORIGINS: ' https://Dash.example.com:3000/ , http://127.0.0.1:5173',
      API_ALLOWED_HOSTS: 'StackLens.internal,',
    });
    expect(http.allowedOrigins).toEqual(['https://dash.example.com:3000', 'http://127.0.0.1:5173']);
    expect(http.allowedHosts).toEqual(['stacklens.internal']);
  });

  it('sizes the product topics like the seeds unless overridden', () => {
    expect(loadConfig({}, '/srv/app').topics).toEqual({
      otelLogs: { partitions: 3, retentionHours: 168 },
      otelTraces: { partitions: 3, retentionHours: 168 },
      enriched: { partitions: 3, retentionHours: 72 },
      alerts: { partitions: 1, retentionHours: 720 },
      logPatterns: { partitions: 3, retentionHours: 72 },
    });
    const config = loadConfig(
      { TOPIC_OTEL_LOGS_PARTITIONS: '12', TOPIC_ALERTS_RETENTION_HOURS: '24' },
      '/srv/app',
    );
    expect(config.topics.otelLogs).toEqual({ partitions: 12, retentionHours: 168 });
    expect(config.topics.alerts).toEqual({ partitions: 1, retentionHours: 24 });
    expect(problemsOf({ TOPIC_ENRICHED_PARTITIONS: '0' })[0]).toMatch(
      /TOPIC_ENRICHED_PARTITIONS: must be a whole number between 1 and 10000, got "0"/,
    );
    expect(problemsOf({ TOPIC_OTEL_TRACES_RETENTION_HOURS: '7d' })[0]).toMatch(
      /TOPIC_OTEL_TRACES_RETENTION_HOURS: must be a whole number of hours/,
    );
  });

  it('configures alert delivery, its trace links following the API address unless set', () => {
    expect(loadConfig({}).delivery).toEqual({
      linkBaseUrl: 'http://127.0.0.1:8080',
      commitIntervalMs: 1_000,
      stateRetentionHours: 2_160,
      maxAlertAgeHours: 24,
    });
    expect(loadConfig({ HTTP_HOST: '0.0.0.0', HTTP_PORT: '9000' }).delivery.linkBaseUrl).toBe(
      'http://127.0.0.1:9000',
    );
    expect(loadConfig({ DELIVERY_LINK_BASE_URL: 'https://stacklens.example.com' }).delivery.linkBaseUrl).toBe(
      'https://stacklens.example.com',
    );
    expect(problemsOf({ DELIVERY_LINK_BASE_URL: 'stacklens' })[0]).toMatch(
      /^DELIVERY_LINK_BASE_URL: must be an http/,
    );
    // Delivery state forgotten while the alert is still on the topic would let a replay deliver it again.
    expect(problemsOf({ DELIVERY_STATE_RETENTION_HOURS: '24', TOPIC_ALERTS_RETENTION_HOURS: '48' })).toEqual([
      expect.stringMatching(/^DELIVERY_STATE_RETENTION_HOURS: must be at least TOPIC_ALERTS_RETENTION_HOURS/),
    ]);
  });

  it('requires both S3 credentials or neither', () => {
    expect(problemsOf({ AWS_ACCESS_KEY_ID: 'id' })[0]).toMatch(/AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
  });

  it('never echoes a secret in its error message', () => {
    const err = (() => {
      try {
        loadConfig({ API_AUTH: 'token', API_TOKEN: 'tiny-secret' });
      } catch (e) {
        return e as Error;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(err.message).not.toContain('tiny-secret');
  });

  it('keeps ClickHouse rows forever by default, and takes a retention per table family', () => {
    expect(loadConfig({}).clickhouse.retentionDays).toEqual({
      logs: 0,
      traces: 0,
      correlations: 0,
      alerts: 0,
    });
    expect(
      loadConfig({
        CLICKHOUSE_TTL_DAYS: '30',
        CLICKHOUSE_LOGS_TTL_DAYS: '7',
        CLICKHOUSE_ALERTS_TTL_DAYS: '0',
      }).clickhouse.retentionDays,
    ).toEqual({ logs: 7, traces: 30, correlations: 30, alerts: 0 });
    expect(() => loadConfig({ CLICKHOUSE_TRACES_TTL_DAYS: '1.5' })).toThrow(
      /CLICKHOUSE_TRACES_TTL_DAYS: must be a whole number of days between 0 and 3650/,
    );
    expect(() => loadConfig({ CLICKHOUSE_TTL_DAYS: '-1' })).toThrow(/CLICKHOUSE_TTL_DAYS/);
  });

  it('is documented: every variable appears in the README configuration table', () => {
    const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
    const missing = CONFIG_VARIABLES.filter((name) => !readme.includes(`| \`${name}\``));
    expect(missing).toEqual([]);
  });
});
