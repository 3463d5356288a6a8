import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createClient } from '@clickhouse/client';
import { Registry } from 'prom-client';
import { NEVER } from 'rxjs';
import { parse } from 'yaml';
import { startApi } from '../api/testing/harness';
import { createLogger } from '../common/logger';
import { CONFIG_VARIABLES, loadConfig } from './config';

// infra/k8s cannot be applied here (no cluster); this keeps it consistent with the config module and
// runs its readiness probe's command against a real API.
const k8sDir = join(__dirname, '..', 'infra', 'k8s');
const load = <T>(file: string): T => parse(readFileSync(join(k8sDir, file), 'utf8')) as T;

interface Probe {
  httpGet?: { path: string; port: string | number };
  exec?: { command: string[] };
}
interface Container {
  name: string;
  args?: string[];
  ports: { name: string; containerPort: number }[];
  envFrom: ({ configMapRef: { name: string } } | { secretRef: { name: string } })[];
  env?: { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  startupProbe: Probe;
  livenessProbe: Probe;
  readinessProbe: Probe;
}
interface Deployment {
  kind: 'Deployment';
  metadata: { name: string };
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: { containers: Container[] } };
  };
}

const kustomization = load<{ resources: string[] }>('kustomization.yaml');
const configMap = load<{ kind: string; metadata: { name: string }; data: Record<string, string> }>(
  'configmap.yaml',
);
const secret = load<{ kind: string; metadata: { name: string }; stringData: Record<string, string> }>(
  'secret.yaml',
);
const deployment = load<Deployment>('deployment.yaml');
const service = load<{
  spec: { selector: Record<string, string>; ports: { port: number; targetPort: string }[] };
}>('service.yaml');
const hpa = load<{
  spec: {
    scaleTargetRef: { kind: string; name: string };
    minReplicas: number;
    maxReplicas: number;
    metrics: { type: string; resource?: { name: string } }[];
  };
}>('hpa.yaml');
const container = deployment.spec.template.spec.containers[0]!;
const environment = { ...configMap.data, ...secret.stringData };

/** Variables whose values are credentials: they belong in the Secret, never in the ConfigMap. */
const SECRET_VARIABLE = /PASSWORD|SECRET|TOKEN|ACCESS_KEY/;

describe('infra/k8s', () => {
  it('lists every manifest in the kustomization', () => {
    expect(kustomization.resources.sort()).toEqual([
      'configmap.yaml',
      'deployment.yaml',
      'hpa.yaml',
      'secret.yaml',
      'service.yaml',
    ]);
  });

  it('sets only configuration variables, with values the config module accepts', () => {
    const keys = Object.keys(environment);
    expect(keys.filter((key) => !CONFIG_VARIABLES.includes(key))).toEqual([]);
    const config = loadConfig({ ...environment, INSTANCE_ID: 'stacklens-7d9f-abcde' }, '/app');
    expect(config.http.host).toBe('0.0.0.0');
    // Replicas share one ClickHouse and one archive: chDB and the file-system archive are per process.
    expect(config.clickhouse.url).toBeDefined();
    expect(config.archive.s3).toBeDefined();
  });

  it('keeps credentials in the Secret only', () => {
    expect(Object.keys(configMap.data).filter((key) => SECRET_VARIABLE.test(key))).toEqual([]);
    expect(Object.keys(secret.stringData).filter((key) => !SECRET_VARIABLE.test(key))).toEqual([
      'CLICKHOUSE_USER',
    ]);
    expect(container.envFrom).toEqual([
      { configMapRef: { name: configMap.metadata.name } },
      { secretRef: { name: secret.metadata.name } },
    ]);
  });

  it('gives each pod its own INSTANCE_ID, the pod name', () => {
    expect(container.env).toContainEqual({
      name: 'INSTANCE_ID',
      valueFrom: { fieldRef: { fieldPath: 'metadata.name' } },
    });
  });

  it('serves and probes the configured port: liveness on /health, readiness on /ready', () => {
    const http = container.ports.find((p) => p.name === 'http');
    expect(http?.containerPort).toBe(Number(configMap.data.HTTP_PORT));
    expect(service.spec.ports[0]!.targetPort).toBe('http');
    expect(service.spec.selector).toEqual(deployment.spec.template.metadata.labels);
    expect(deployment.spec.selector.matchLabels).toEqual(deployment.spec.template.metadata.labels);
    expect(container.livenessProbe.httpGet).toEqual({ path: '/health', port: 'http' });
    expect(container.startupProbe.httpGet).toEqual({ path: '/health', port: 'http' });
    expect(container.readinessProbe.exec?.command.join(' ')).toContain('/ready');
  });

  it("scales the Deployment on CPU, up to the input topics' partitions", () => {
    const config = loadConfig(environment, '/app');
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: deployment.metadata.name });
    expect(hpa.spec.metrics).toContainEqual(
      expect.objectContaining({ type: 'Resource', resource: expect.objectContaining({ name: 'cpu' }) }),
    );
    expect(hpa.spec.minReplicas).toBeLessThanOrEqual(deployment.spec.replicas);
    expect(hpa.spec.maxReplicas).toBe(
      Math.max(config.topics.otelLogs.partitions, config.topics.otelTraces.partitions),
    );
  });

  describe('the readiness probe command', () => {
    const probe = container.readinessProbe.exec!.command;
    const run = (env: Record<string, string>) =>
      promisify(execFile)(probe[0]!, probe.slice(1), {
        env: { ...process.env, ...env },
        timeout: 30_000,
      }).then(
        () => 0,
        (err: { code?: number }) => err.code ?? -1,
      );

    it('passes against an API with token auth when given the Secret token, and fails without it', async () => {
      const config = loadConfig(environment, '/app');
      if (config.http.auth.kind !== 'token')
        throw new Error('the manifests are expected to use API_AUTH=token');
      let ready = true;
      const api = await startApi({
        clickhouse: createClient({ url: 'http://127.0.0.1:9' }),
        database: 'stacklens',
        live: { logs$: NEVER, alerts$: NEVER },
        ingest: { produce: () => Promise.reject(new Error('not exercised')) },
        probes: { kafka: async () => (ready ? { ok: true } : { ok: false, error: 'broker down' }) },
        registry: new Registry(),
        auth: config.http.auth,
        logger: createLogger({ level: 'silent', format: 'json' }),
      });
      try {
        const port = new URL(api.baseUrl).port;
        expect(await run({ HTTP_PORT: port, API_TOKEN: config.http.auth.token })).toBe(0);
        expect(await run({ HTTP_PORT: port, API_TOKEN: 'not-the-token-of-this-api' })).toBe(1);
        ready = false;
        expect(await run({ HTTP_PORT: port, API_TOKEN: config.http.auth.token })).toBe(1);
      } finally {
        await api.close();
      }
    });
  });
});
