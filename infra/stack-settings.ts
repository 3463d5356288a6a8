import { join, resolve } from 'node:path';
import { StackLensError } from '../common/errors';

/** A STACK_* variable is invalid. */
export class StackSettingsError extends StackLensError {}

/**
 * Where the local stack keeps its files and which loopback ports it binds. Read from STACK_*
 * variables so that two checkouts, or a developer's stack and a test run, need not collide.
 */
export interface StackSettings {
  /** Root of everything the stack downloads and writes; git-ignored. */
  dir: string;
  /** Downloaded distributions (jars, tarballs, binaries), kept across `stack down --wipe`. */
  cacheDir: string;
  /** Service data (Kafka logs, S3 objects, ClickHouse's chDB files). */
  dataDir: string;
  /** One log file per service. */
  logDir: string;
  /** PID files. */
  runDir: string;
  host: '127.0.0.1';
  kafkaPort: number;
  kafkaControllerPort: number;
  registryPort: number;
  /** Apicurio serves its health checks on a separate management port that cannot be switched off. */
  registryManagementPort: number;
  s3Port: number;
  /** The local ClickHouse's HTTP interface (ClickHouse's own default port). */
  clickhousePort: number;
}

export function stackSettingsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  projectRoot = process.cwd(),
): StackSettings {
  const dir = resolve(projectRoot, env.STACK_DIR ?? '.stack');
  return {
    dir,
    cacheDir: join(dir, 'cache'),
    dataDir: resolve(projectRoot, env.STACK_DATA_DIR ?? join(dir, 'data')),
    logDir: join(dir, 'logs'),
    runDir: join(dir, 'run'),
    host: '127.0.0.1',
    kafkaPort: port(env, 'STACK_KAFKA_PORT', 9092),
    kafkaControllerPort: port(env, 'STACK_KAFKA_CONTROLLER_PORT', 9093),
    registryPort: port(env, 'STACK_REGISTRY_PORT', 8081),
    registryManagementPort: port(env, 'STACK_REGISTRY_MANAGEMENT_PORT', 8082),
    s3Port: port(env, 'STACK_S3_PORT', 8333),
    clickhousePort: port(env, 'STACK_CLICKHOUSE_PORT', 8123),
  };
}

function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65_535) {
    throw new StackSettingsError(`${name} must be a TCP port between 1 and 65535, got "${raw}"`);
  }
  return value;
}
