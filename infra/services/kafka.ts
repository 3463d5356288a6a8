import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { pidLifecycle } from '../pid-lifecycle';
import { StackServiceError, isPortOpen, runningPid, startDetached, waitUntil } from '../process';
import type { StackContext, StackService } from '../service';
import type { StackSettings } from '../stack-settings';
import { findJava } from './java';
import { copyDependencies, installOnce } from './maven';

const execFileAsync = promisify(execFile);

/**
 * Kafka 4.3.1, the newest release whose jars are all on Maven Central (kafka_2.13 4.4.0 is there,
 * but kafka-tools and kafka-tools-api 4.4.0, which it depends on, are not, so Maven cannot resolve it). kafkajs 2.2.4 works against it
 * for everything StackLens uses — produce, consumer groups, transactions with sendOffsets, admin
 * createTopics/fetchOffsets/describeGroups — although 4.0 dropped the oldest protocol versions
 * (KIP-896): kafkajs negotiates the highest version both sides know, and those are all still served.
 * test/integration/kafka.test.ts exercises exactly that list.
 */
export const KAFKA_VERSION = '4.3.1';
/** The log4j2 that Kafka itself depends on; its slf4j binding is what makes the broker log at all. */
const LOG4J_VERSION = '2.25.4';
/** Kafka 4 brokers need Java 17. */
const JAVA_MAJOR = 17;
const SERVICE = 'kafka';
const START_TIMEOUT_MS = 120_000;
const STOP_GRACE_MS = 60_000;

interface KafkaPaths {
  home: string;
  libs: string;
  data: string;
  logDirs: string;
  clusterIdFile: string;
  configDir: string;
  serverProperties: string;
  log4jConfig: string;
  logFile: string;
  pidFile: string;
}

function kafkaPaths(settings: StackSettings): KafkaPaths {
  const home = join(settings.cacheDir, `kafka-${KAFKA_VERSION}`);
  const data = join(settings.dataDir, SERVICE);
  const configDir = join(settings.runDir, SERVICE);
  return {
    home,
    libs: join(home, 'libs'),
    data,
    logDirs: join(data, 'logs'),
    clusterIdFile: join(data, 'cluster-id'),
    configDir,
    serverProperties: join(configDir, 'server.properties'),
    log4jConfig: join(configDir, 'log4j2.properties'),
    logFile: join(settings.logDir, `${SERVICE}.log`),
    pidFile: join(settings.runDir, `${SERVICE}.pid`),
  };
}

export function kafkaBootstrap(settings: StackSettings): string {
  return `${settings.host}:${settings.kafkaPort}`;
}

async function install({ settings, log }: StackContext): Promise<void> {
  const paths = kafkaPaths(settings);
  const installed = await installOnce(paths.home, KAFKA_VERSION, async () => {
    log.info({ version: KAFKA_VERSION, dir: paths.home }, 'resolving Kafka from Maven Central');
    await copyDependencies({
      settings,
      workDir: paths.home,
      outputDir: paths.libs,
      dependencies: [
        { groupId: 'org.apache.kafka', artifactId: 'kafka_2.13', version: KAFKA_VERSION },
        // kafka-consumer-perf-test (org.apache.kafka.tools.ConsumerPerformance) for the benchmarks.
        { groupId: 'org.apache.kafka', artifactId: 'kafka-tools', version: KAFKA_VERSION },
        { groupId: 'org.apache.logging.log4j', artifactId: 'log4j-slf4j-impl', version: LOG4J_VERSION },
      ],
    });
  });
  if (!installed) log.debug({ dir: paths.home }, 'Kafka already installed');
}

async function start(ctx: StackContext): Promise<void> {
  const { settings, log } = ctx;
  const paths = kafkaPaths(settings);
  if (runningPid(paths.pidFile) === undefined) {
    if (await isPortOpen(settings.host, settings.kafkaPort)) {
      throw new StackServiceError(
        `port ${settings.kafkaPort} is taken by a process that is not this stack's Kafka; set STACK_KAFKA_PORT`,
      );
    }
    await install(ctx);
    const java = await findJava(JAVA_MAJOR, settings.cacheDir);
    writeConfig(settings, paths);
    await formatStorageOnce(java, paths);
    const startedAt = Date.now();
    const pid = startDetached({
      command: java,
      args: [...jvmOptions(paths), 'kafka.Kafka', paths.serverProperties],
      cwd: paths.data,
      logFile: paths.logFile,
      pidFile: paths.pidFile,
    });
    log.info({ pid, bootstrap: kafkaBootstrap(settings) }, 'starting Kafka');
    await waitUntilHealthy(settings, paths);
    await warmUpCoordinators(settings);
    log.info({ ms: Date.now() - startedAt }, 'Kafka is ready');
    return;
  }
  // Already running (a previous `stack up`, or another process starting it right now): only wait.
  await waitUntilHealthy(settings, paths);
}

function waitUntilHealthy(settings: StackSettings, paths: KafkaPaths): Promise<void> {
  return waitUntil(() => isKafkaHealthy(settings), {
    what: `Kafka on ${kafkaBootstrap(settings)}`,
    timeoutMs: START_TIMEOUT_MS,
    logFile: paths.logFile,
    pidFile: paths.pidFile,
  });
}

function quietClient(settings: StackSettings, retries: number): Kafka {
  return new Kafka({
    clientId: 'stacklens-stack',
    brokers: [kafkaBootstrap(settings)],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2_000,
    requestTimeout: 5_000,
    retry: { retries },
  });
}

/** Healthy means a client can do what the app does first: fetch cluster metadata and list topics. */
async function isKafkaHealthy(settings: StackSettings): Promise<boolean> {
  if (!(await isPortOpen(settings.host, settings.kafkaPort))) return false;
  const admin = quietClient(settings, 0).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    await admin.listTopics();
    return cluster.controller !== null && cluster.brokers.length > 0;
  } finally {
    await admin.disconnect();
  }
}

/**
 * The group and transaction coordinators' topics (__consumer_offsets, __transaction_state) are
 * created on first use, and until they are loaded every client sees "coordinator not available"
 * errors, which kafkajs retries but logs as errors. Using both once here, quietly, means the app's
 * and the tests' first requests find them ready.
 */
async function warmUpCoordinators(settings: StackSettings): Promise<void> {
  const kafka = quietClient(settings, 10);
  const admin = kafka.admin();
  const producer = kafka.producer({
    transactionalId: 'stacklens-stack-warm-up',
    idempotent: true,
    maxInFlightRequests: 1,
  });
  try {
    await admin.connect();
    await admin.describeGroups(['stacklens-stack-warm-up']);
    await producer.connect();
    await (await producer.transaction()).abort();
  } finally {
    await producer.disconnect();
    await admin.disconnect();
  }
}

function jvmOptions(paths: KafkaPaths): string[] {
  return [
    // Kafka, the registry, S3 and the tests share 2 cores in CI: a modest heap is plenty for one node.
    '-Xms256m',
    '-Xmx1g',
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${paths.log4jConfig}`,
    '-cp',
    join(paths.libs, '*'),
  ];
}

/** Regenerated on every start so a changed STACK_KAFKA_PORT takes effect without a wipe. */
function writeConfig(settings: StackSettings, paths: KafkaPaths): void {
  mkdirSync(paths.configDir, { recursive: true });
  mkdirSync(paths.logDirs, { recursive: true });
  mkdirSync(dirname(paths.logFile), { recursive: true });
  const { host, kafkaPort, kafkaControllerPort } = settings;
  const properties: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@${host}:${kafkaControllerPort}`,
    listeners: `PLAINTEXT://${host}:${kafkaPort},CONTROLLER://${host}:${kafkaControllerPort}`,
    'advertised.listeners': `PLAINTEXT://${host}:${kafkaPort}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'log.dirs': paths.logDirs,
    'num.partitions': 1,
    // One node: every internal topic has a single replica, or it can never be created.
    'offsets.topic.replication.factor': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    // Fewer internal partitions than the default 50: the coordinators load faster on 2 cores.
    'offsets.topic.num.partitions': 10,
    'transaction.state.log.num.partitions': 10,
    'group.initial.rebalance.delay.ms': 0,
    // StackLens creates its topics explicitly; a typo must fail instead of creating a stray topic.
    'auto.create.topics.enable': false,
  };
  const lines = Object.entries(properties).map(([key, value]) => `${key}=${String(value)}`);
  writeFileSync(
    paths.serverProperties,
    `# Generated by stacklens stack; edits are overwritten on start.\n${lines.join('\n')}\n`,
  );
  writeFileSync(
    paths.log4jConfig,
    [
      // Everything to stdout, which startDetached appends to the service's log file.
      'appender.out.type=Console',
      'appender.out.name=out',
      'appender.out.layout.type=PatternLayout',
      'appender.out.layout.pattern=[%d] %p %m (%c)%n',
      'rootLogger.level=INFO',
      'rootLogger.appenderRef.out.ref=out',
      // Per-request and state-change chatter drowns the useful lines at INFO.
      'logger.request.name=kafka.request.logger',
      'logger.request.level=WARN',
      'logger.state.name=state.change.logger',
      'logger.state.level=WARN',
      '',
    ].join('\n'),
  );
}

/**
 * Formats the log directory once, with a cluster id kept in the data directory: a restart then finds
 * the same cluster and keeps its topics; only `wipe` starts a new one.
 */
async function formatStorageOnce(java: string, paths: KafkaPaths): Promise<void> {
  if (existsSync(join(paths.logDirs, 'meta.properties'))) return;
  const clusterId = existsSync(paths.clusterIdFile)
    ? readFileSync(paths.clusterIdFile, 'utf8').trim()
    : newClusterId();
  writeFileSync(paths.clusterIdFile, clusterId);
  const args = [
    ...jvmOptions(paths),
    'kafka.tools.StorageTool',
    'format',
    '-t',
    clusterId,
    '-c',
    paths.serverProperties,
    '--ignore-formatted',
  ];
  try {
    const { stdout, stderr } = await execFileAsync(java, args, { timeout: 120_000 });
    appendFileSync(paths.logFile, `${stdout}${stderr}`);
  } catch (err) {
    const failure = err as { stdout?: string; stderr?: string };
    throw new StackServiceError(
      `formatting Kafka storage in ${paths.logDirs} failed:\n${failure.stdout ?? ''}${failure.stderr ?? ''}`,
      {
        cause: err,
      },
    );
  }
}

/** Kafka's cluster ids are 16 random bytes in unpadded base64url; one starting with '-' would read as a flag. */
function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

export const kafkaService: StackService = {
  name: SERVICE,
  install,
  start,
  ...pidLifecycle({
    name: SERVICE,
    title: 'Kafka',
    paths: kafkaPaths,
    endpoint: kafkaBootstrap,
    stopGraceMs: STOP_GRACE_MS,
  }),
};
