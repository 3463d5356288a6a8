import { execFile } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pidLifecycle } from '../pid-lifecycle';
import { StackServiceError, isPortOpen, runningPid, startDetached, waitUntil } from '../process';
import type { StackContext, StackService } from '../service';
import type { StackSettings } from '../stack-settings';
import { kafkaBootstrap } from './kafka';
import { findJava } from './java';
import { copyArtifact, installOnce } from './maven';

const execFileAsync = promisify(execFile);

/**
 * Apicurio Registry, the Quarkus build published on Maven Central as a tarball. It speaks the
 * Confluent Schema Registry REST API under /apis/ccompat/v7, which is what
 * @kafkajs/confluent-schema-registry talks to.
 */
export const APICURIO_VERSION = '3.3.3';
const SERVICE = 'schema-registry';
const START_TIMEOUT_MS = 180_000;
/** Apicurio Registry 3.3 is compiled for Java 21 (class file version 65). */
const JAVA_MAJOR = 21;
/** The schemas live in this Kafka topic (kafkasql storage), so they survive a registry restart. */
export const REGISTRY_JOURNAL_TOPIC = 'kafkasql-journal';

interface RegistryPaths {
  home: string;
  app: string;
  data: string;
  logFile: string;
  pidFile: string;
}

function registryPaths(settings: StackSettings): RegistryPaths {
  const home = join(settings.cacheDir, `apicurio-registry-${APICURIO_VERSION}`);
  return {
    home,
    app: join(home, 'quarkus-app'),
    data: join(settings.dataDir, SERVICE),
    logFile: join(settings.logDir, `${SERVICE}.log`),
    pidFile: join(settings.runDir, `${SERVICE}.pid`),
  };
}

/** Base URL for Confluent-compatible clients (`new SchemaRegistry({ host })`). */
export function schemaRegistryUrl(settings: StackSettings): string {
  return `http://${settings.host}:${settings.registryPort}/apis/ccompat/v7`;
}

async function install({ settings, log }: StackContext): Promise<void> {
  const paths = registryPaths(settings);
  const installed = await installOnce(paths.home, APICURIO_VERSION, async () => {
    log.info(
      { version: APICURIO_VERSION, dir: paths.home },
      'resolving Apicurio Registry from Maven Central',
    );
    const download = join(paths.home, 'download');
    const tarball = await copyArtifact({
      settings,
      artifact: {
        groupId: 'io.apicurio',
        artifactId: 'apicurio-registry-app',
        version: APICURIO_VERSION,
        type: 'tar.gz',
        classifier: 'all',
      },
      outputDir: download,
    });
    mkdirSync(paths.app, { recursive: true });
    await execFileAsync('tar', ['-xzf', tarball, '-C', paths.app]);
    // Maven's local repository keeps the tarball; a second copy would only take 160 MB.
    rmSync(download, { recursive: true, force: true });
  });
  if (!installed) log.debug({ dir: paths.home }, 'Apicurio Registry already installed');
}

async function start(ctx: StackContext): Promise<void> {
  const { settings, log } = ctx;
  const paths = registryPaths(settings);
  if (runningPid(paths.pidFile) === undefined) {
    for (const port of [settings.registryPort, settings.registryManagementPort]) {
      if (await isPortOpen(settings.host, port)) {
        throw new StackServiceError(
          `port ${port} is taken by a process that is not this stack's schema registry; set STACK_REGISTRY_PORT`,
        );
      }
    }
    if (!(await isPortOpen(settings.host, settings.kafkaPort))) {
      throw new StackServiceError(
        `the schema registry stores its schemas in Kafka, which is not running on ${kafkaBootstrap(settings)}`,
      );
    }
    await install(ctx);
    const java = await findJava(JAVA_MAJOR, settings.cacheDir);
    const tmp = join(paths.data, 'tmp');
    mkdirSync(tmp, { recursive: true });
    const startedAt = Date.now();
    const pid = startDetached({
      command: java,
      args: ['-Xms128m', '-Xmx512m', `-Djava.io.tmpdir=${tmp}`, '-jar', join(paths.app, 'quarkus-run.jar')],
      cwd: paths.data,
      env: { ...process.env, ...registryEnvironment(settings, tmp) },
      logFile: paths.logFile,
      pidFile: paths.pidFile,
    });
    log.info({ pid, url: schemaRegistryUrl(settings) }, 'starting the schema registry');
    await waitUntilHealthy(settings, paths);
    log.info({ ms: Date.now() - startedAt }, 'the schema registry is ready');
    return;
  }
  await waitUntilHealthy(settings, paths);
}

function registryEnvironment(settings: StackSettings, tmp: string): Record<string, string> {
  return {
    QUARKUS_HTTP_HOST: settings.host,
    QUARKUS_HTTP_PORT: String(settings.registryPort),
    QUARKUS_MANAGEMENT_HOST: settings.host,
    QUARKUS_MANAGEMENT_PORT: String(settings.registryManagementPort),
    APICURIO_STORAGE_KIND: 'kafkasql',
    APICURIO_KAFKASQL_BOOTSTRAP_SERVERS: kafkaBootstrap(settings),
    APICURIO_KAFKASQL_TOPIC: REGISTRY_JOURNAL_TOPIC,
    // Startup replays the journal; each empty poll of it waits this long (the default 5 s adds ~10 s).
    APICURIO_KAFKASQL_CONSUMER_POLL_TIMEOUT: '500',
    APICURIO_STORAGE_SNAPSHOT_LOCATION: tmp,
    APICURIO_IMPORT_WORK_DIR: tmp,
    // The packaged pattern prints dates as "2026-11+00-22"; the Kafka client's INFO lines bury the rest.
    QUARKUS_LOG_CONSOLE_FORMAT: '%d{yyyy-MM-dd HH:mm:ss,SSS} %p [%c{3.}] (%t) %m%n',
    QUARKUS_LOG_CATEGORY__ORG_APACHE_KAFKA__LEVEL: 'WARN',
    // The access log's response_time (otherwise "-"): a slow request can then be told from a late one.
    QUARKUS_HTTP_RECORD_REQUEST_START_TIME: 'true',
  };
}

function waitUntilHealthy(settings: StackSettings, paths: RegistryPaths): Promise<void> {
  return waitUntil(() => isRegistryHealthy(settings), {
    what: `the schema registry on ${schemaRegistryUrl(settings)}`,
    timeoutMs: START_TIMEOUT_MS,
    intervalMs: 1_000,
    logFile: paths.logFile,
    pidFile: paths.pidFile,
  });
}

/** Ready means Quarkus reports ready (storage loaded from Kafka) and the Confluent API answers. */
async function isRegistryHealthy(settings: StackSettings): Promise<boolean> {
  const ready = await fetch(`http://${settings.host}:${settings.registryManagementPort}/health/ready`, {
    signal: AbortSignal.timeout(3_000),
  });
  if (!ready.ok) return false;
  const subjects = await fetch(`${schemaRegistryUrl(settings)}/subjects`, {
    signal: AbortSignal.timeout(3_000),
  });
  return subjects.ok && Array.isArray(await subjects.json());
}

/**
 * `wipe` deletes the registry's working files. The schemas themselves are records of Kafka's
 * REGISTRY_JOURNAL_TOPIC and go with Kafka's data (`stack down --wipe` wipes both).
 */
export const schemaRegistryService: StackService = {
  name: SERVICE,
  install,
  start,
  ...pidLifecycle({
    name: SERVICE,
    title: 'the schema registry',
    paths: registryPaths,
    endpoint: schemaRegistryUrl,
  }),
};
