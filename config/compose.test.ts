import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { PRODUCT_TOPICS } from '../sinks/kafka/topics';
import { CONFIG_VARIABLES, loadConfig } from './config';

// docker/compose.yaml cannot run here (no Docker engine); this keeps it consistent with the config module.
const dockerDir = join(__dirname, '..', 'docker');

interface ComposeService {
  image?: string;
  environment?: Record<string, string | number | boolean>;
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  entrypoint?: string[];
  volumes?: string[];
}
interface Compose {
  services: Record<string, ComposeService>;
}

const compose = parse(readFileSync(join(dockerDir, 'compose.yaml'), 'utf8')) as Compose;
const collector = parse(readFileSync(join(dockerDir, 'otel-collector.yaml'), 'utf8')) as {
  exporters: { kafka: { brokers: string[]; logs: { topic: string }; traces: { topic: string } } };
};

/** Compose's `${NAME:-default}` interpolation, with nothing set: every value takes its default. */
function withDefaults(environment: Record<string, string | number | boolean>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(environment).map(([key, value]) => [
      key,
      String(value).replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, (_match, fallback: string) => fallback),
    ]),
  );
}

const service = (name: string): ComposeService => {
  const found = compose.services[name];
  if (found === undefined) throw new Error(`docker/compose.yaml has no service ${name}`);
  return found;
};
const app = withDefaults(service('stacklens').environment ?? {});

describe('docker/compose.yaml', () => {
  it("sets only StackLens's configuration variables on the app, with values the config module accepts", () => {
    expect(Object.keys(app).filter((key) => !CONFIG_VARIABLES.includes(key))).toEqual([]);
    const config = loadConfig(app, '/app');
    expect(config.clickhouse.url).toBe('http://clickhouse:8123');
    expect(config.archive.s3?.endpoint).toBe('http://minio:9000');
    expect(config.http).toMatchObject({ host: '0.0.0.0', port: 8080 });
  });

  it('points the app at the services of the file, with the same names and credentials', () => {
    const hosts = (url: string) => new URL(url).hostname;
    for (const url of [app.SCHEMA_REGISTRY_URL!, app.CLICKHOUSE_URL!, app.S3_ENDPOINT!])
      expect(Object.keys(compose.services)).toContain(hosts(url));
    expect(app.KAFKA_BROKERS).toBe('kafka:9092');

    const clickhouse = withDefaults(service('clickhouse').environment ?? {});
    expect([clickhouse.CLICKHOUSE_DB, clickhouse.CLICKHOUSE_USER, clickhouse.CLICKHOUSE_PASSWORD]).toEqual([
      app.CLICKHOUSE_DATABASE,
      app.CLICKHOUSE_USER,
      app.CLICKHOUSE_PASSWORD,
    ]);
    const minio = withDefaults(service('minio').environment ?? {});
    expect([minio.MINIO_ROOT_USER, minio.MINIO_ROOT_PASSWORD]).toEqual([
      app.AWS_ACCESS_KEY_ID,
      app.AWS_SECRET_ACCESS_KEY,
    ]);
    expect(withDefaults(service('minio-bucket').environment ?? {}).S3_BUCKET).toBe(app.S3_BUCKET);
    expect(service('stacklens').depends_on?.['minio-bucket']?.condition).toBe(
      'service_completed_successfully',
    );
  });

  it('feeds the topics StackLens reads from the Collector, through the same broker', () => {
    const kafka = collector.exporters.kafka;
    expect(kafka.brokers).toEqual([app.KAFKA_BROKERS]);
    expect([kafka.logs.topic, kafka.traces.topic]).toEqual([
      PRODUCT_TOPICS.otelLogs,
      PRODUCT_TOPICS.otelTraces,
    ]);
  });

  it('pins Kafka and the registry to the versions of the local stack, and publishes ports on 127.0.0.1 only', () => {
    expect(service('kafka').image).toBe('apache/kafka:4.3.1');
    expect(service('schema-registry').image).toBe('apicurio/apicurio-registry:3.3.3');
    const published = Object.values(compose.services).flatMap((s) => s.ports ?? []);
    expect(published.length).toBeGreaterThan(0);
    expect(published.filter((p) => !p.startsWith('127.0.0.1:'))).toEqual([]);
  });

  it('wires Grafana to the same ClickHouse, database and credentials, with the provisioning files of docker/grafana', () => {
    const grafana = withDefaults(service('grafana').environment ?? {});
    expect(grafana.CLICKHOUSE_HOST).toBe(new URL(app.CLICKHOUSE_URL!).hostname);
    expect([grafana.CLICKHOUSE_DATABASE, grafana.CLICKHOUSE_USER, grafana.CLICKHOUSE_PASSWORD]).toEqual([
      app.CLICKHOUSE_DATABASE,
      app.CLICKHOUSE_USER,
      app.CLICKHOUSE_PASSWORD,
    ]);
    expect(grafana.GF_PLUGINS_PREINSTALL_SYNC).toMatch(/^grafana-clickhouse-datasource@/);

    // Every bind mount's source exists; the data source file reads only variables the service sets.
    const mounts = Object.fromEntries(
      (service('grafana').volumes ?? [])
        .filter((v) => v.startsWith('./'))
        .map((v) => {
          const [source, target] = v.split(':');
          expect(existsSync(join(dockerDir, source!))).toBe(true);
          return [target!, source!];
        }),
    );
    const datasource = readFileSync(
      join(dockerDir, 'grafana/provisioning/datasources/clickhouse.yaml'),
      'utf8',
    );
    const settings = datasource.replace(/#.*$/gm, '');
    const referenced = [...settings.matchAll(/\$([A-Z_]+)/g)].map((m) => m[1]!);
    expect(referenced.length).toBeGreaterThan(0);
    expect(referenced.filter((name) => grafana[name] === undefined)).toEqual([]);
    const provider = parse(
      readFileSync(join(dockerDir, 'grafana/provisioning/dashboards/stacklens.yaml'), 'utf8'),
    ) as { providers: { options: { path: string } }[] };
    expect(mounts[provider.providers[0]!.options.path]).toBe('./grafana/dashboards');
    expect(grafana.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH).toMatch(
      new RegExp(`^${provider.providers[0]!.options.path}/[a-z-]+\\.json$`),
    );
    const home = grafana.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH!.split('/').at(-1)!;
    expect(existsSync(join(dockerDir, 'grafana/dashboards', home))).toBe(true);
  });
});
