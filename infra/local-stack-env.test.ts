import { withLocalStackDefaults, usesLocalStack } from './local-stack-env';
import { stackSettingsFromEnv } from './stack-settings';

describe('local stack environment', () => {
  const settings = stackSettingsFromEnv(
    { STACK_KAFKA_PORT: '19092', STACK_S3_PORT: '18333', STACK_CLICKHOUSE_PORT: '18123' },
    '/srv/app',
  );

  it('is used when no Kafka is configured', () => {
    expect(usesLocalStack({})).toBe(true);
    expect(usesLocalStack({ KAFKA_BROKERS: ' ' })).toBe(true);
    expect(usesLocalStack({ KAFKA_BROKERS: 'kafka:9092' })).toBe(false);
  });

  it('points every unset endpoint at the stack', () => {
    const env = withLocalStackDefaults({ LOG_LEVEL: 'debug' }, settings);
    expect(env).toMatchObject({
      LOG_LEVEL: 'debug',
      KAFKA_BROKERS: '127.0.0.1:19092',
      SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081/apis/ccompat/v7',
      S3_ENDPOINT: 'http://127.0.0.1:18333',
      AWS_ACCESS_KEY_ID: 'stacklens',
      CLICKHOUSE_URL: 'http://127.0.0.1:18123',
    });
  });

  it("uses the embedded engine in a CHDB_PATH of the user's own, and keeps a user's own ClickHouse", () => {
    expect(withLocalStackDefaults({ CHDB_PATH: '/tmp/chdb' }, settings).CLICKHOUSE_URL).toBeUndefined();
    expect(
      withLocalStackDefaults({ CLICKHOUSE_URL: 'https://ch.example:8443' }, settings).CLICKHOUSE_URL,
    ).toBe('https://ch.example:8443');
  });

  it("keeps a user's own S3 with its own credentials", () => {
    const env = withLocalStackDefaults({ S3_ENDPOINT: 'https://s3.example', S3_BUCKET: 'mine' }, settings);
    expect(env.S3_ENDPOINT).toBe('https://s3.example');
    expect(env.S3_BUCKET).toBe('mine');
    expect(env.AWS_ACCESS_KEY_ID).toBeUndefined();
    expect(env.AWS_SECRET_ACCESS_KEY).toBeUndefined();
  });
});
