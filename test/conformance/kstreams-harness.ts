import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { findJava } from '../../infra/services/java';
import { mavenRepoLocal, runMaven } from '../../infra/services/maven';
import { stackSettingsFromEnv } from '../../infra/stack-settings';
import { waitFor } from '../support/wait-for';
import type { ScenarioResult, Scenario } from './scenario';

/** Sources of the Java harness (a Maven project): their hash names the build in the stack cache. */
const HARNESS_DIR = join(__dirname, 'kstreams-harness');
const MAIN_CLASS = 'stacklens.conformance.Harness';

interface BuiltHarness {
  readonly java: string;
  readonly classpath: string;
}

/**
 * Builds the harness once per version of its sources, into `.stack/cache/kstreams-harness-<hash>`
 * (git-ignored, next to Maven's local repository): a fresh clone resolves Kafka Streams from Maven
 * Central on its first run, later runs start the JVM straight away. Maven runs offline first, since
 * after the first build everything it needs is cached; online only when that fails.
 */
export async function buildHarness(): Promise<BuiltHarness> {
  const settings = stackSettingsFromEnv();
  const dir = join(settings.cacheDir, `kstreams-harness-${sourceHash()}`);
  const classpathFile = join(dir, 'classpath.txt');
  const java = await findJava(17, settings.cacheDir);
  if (!existsSync(classpathFile)) await buildOnce(dir, classpathFile, settings);
  const dependencies = readFileSync(classpathFile, 'utf8').trim();
  return { java, classpath: [join(dir, 'build', 'kstreams-harness-0.jar'), dependencies].join(':') };
}

/**
 * Runs every scenario through Kafka Streams in one JVM (a JVM start costs seconds on a small
 * machine): results come back in the order of `scenarios`.
 */
export async function runKafkaStreams(
  harness: BuiltHarness,
  scenarios: readonly Scenario[],
): Promise<ScenarioResult[]> {
  const child = spawn(harness.java, ['-cp', harness.classpath, MAIN_CLASS], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  const exit = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  child.stdin.end(JSON.stringify(scenarios));
  const code = await exit;
  if (code !== 0) {
    throw new Error(`the Kafka Streams harness exited with ${code}:\n${Buffer.concat(stderr).toString()}`);
  }
  return JSON.parse(Buffer.concat(stdout).toString('utf8')) as ScenarioResult[];
}

async function buildOnce(
  dir: string,
  classpathFile: string,
  settings: ReturnType<typeof stackSettingsFromEnv>,
): Promise<void> {
  // Test files run in parallel workers: one builds, the others wait for its result.
  mkdirSync(settings.cacheDir, { recursive: true });
  const lock = `${dir}.lock`;
  if (!tryLock(lock)) {
    await waitFor(
      `the Kafka Streams harness built by another test worker (${lock})`,
      () => existsSync(classpathFile) || releaseIfStale(lock),
      600_000,
      500,
    );
    if (existsSync(classpathFile)) return;
    if (!tryLock(lock)) throw new Error(`could not lock ${lock}`);
  }
  try {
    const staging = `${dir}.staging`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    const goals = [
      `-Dharness.buildDir=${join(staging, 'build')}`,
      'package',
      'dependency:build-classpath',
      `-Dmdep.outputFile=${join(staging, 'classpath.txt')}`,
    ];
    // Offline first when Maven's repository exists (a changed harness needs nothing new); online when
    // that fails, e.g. on a fresh clone whose repository only holds the local stack's jars.
    const built = existsSync(mavenRepoLocal(settings))
      ? await runMaven(settings, HARNESS_DIR, ['-o', ...goals]).then(
          () => true,
          () => false,
        )
      : false;
    if (!built) await runMaven(settings, HARNESS_DIR, goals);
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function tryLock(lock: string): boolean {
  try {
    mkdirSync(lock);
    mkdirSync(join(lock, String(process.pid)));
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether the lock is gone, removing it when its owner died (a killed test run would otherwise
 * block every later run).
 */
function releaseIfStale(lock: string): boolean {
  const owner = existsSync(lock) ? readdirSync(lock)[0] : undefined;
  if (owner === undefined) return !existsSync(lock);
  try {
    process.kill(Number(owner), 0);
    return false;
  } catch {
    rmSync(lock, { recursive: true, force: true });
    return true;
  }
}

function sourceHash(): string {
  const hash = createHash('sha256');
  for (const file of listFiles(HARNESS_DIR).sort()) {
    hash.update(relative(HARNESS_DIR, file));
    hash.update(readFileSync(file));
  }
  return hash.digest('hex').slice(0, 16);
}

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? (name === 'target' ? [] : listFiles(path)) : [path];
  });
}
