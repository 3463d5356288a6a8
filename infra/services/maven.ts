import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { StackServiceError } from '../process';
import type { StackSettings } from '../stack-settings';

const execFileAsync = promisify(execFile);

/** Maven coordinates of one artifact; `type` defaults to jar. */
export interface MavenArtifact {
  groupId: string;
  artifactId: string;
  version: string;
  type?: string;
  classifier?: string;
}

/**
 * Maven's local repository lives in the stack cache, not in ~/.m2: a fresh machine (or CI) then
 * needs nothing but `mvn` and a JDK, and `.stack/` being git-ignored keeps the jars out of the repo.
 */
export function mavenRepoLocal(settings: StackSettings): string {
  return join(settings.cacheDir, 'm2');
}

/**
 * Copies `dependencies` and everything they depend on at runtime into `outputDir`, by writing a
 * throwaway pom into `workDir` and letting Maven resolve it (versions, exclusions and conflicts are
 * then settled the way the artifacts' own poms say, which a hand-kept jar list would not follow).
 */
export async function copyDependencies(options: {
  settings: StackSettings;
  workDir: string;
  outputDir: string;
  dependencies: readonly MavenArtifact[];
}): Promise<void> {
  mkdirSync(options.workDir, { recursive: true });
  writeFileSync(join(options.workDir, 'pom.xml'), pomFor(options.dependencies));
  await runMaven(options.settings, options.workDir, [
    'dependency:copy-dependencies',
    '-DincludeScope=runtime',
    `-DoutputDirectory=${options.outputDir}`,
  ]);
}

/** Copies one artifact (no dependencies) into `outputDir` and returns the file's path. */
export async function copyArtifact(options: {
  settings: StackSettings;
  artifact: MavenArtifact;
  outputDir: string;
}): Promise<string> {
  const { artifact } = options;
  const type = artifact.type ?? 'jar';
  const coordinates = [artifact.groupId, artifact.artifactId, artifact.version, type, artifact.classifier]
    .filter((part): part is string => part !== undefined)
    .join(':');
  mkdirSync(options.outputDir, { recursive: true });
  await runMaven(options.settings, options.outputDir, [
    'dependency:copy',
    `-Dartifact=${coordinates}`,
    `-DoutputDirectory=${options.outputDir}`,
  ]);
  const classifier = artifact.classifier === undefined ? '' : `-${artifact.classifier}`;
  const file = join(options.outputDir, `${artifact.artifactId}-${artifact.version}${classifier}.${type}`);
  if (!existsSync(file)) throw new StackServiceError(`Maven reported success but ${file} is missing`);
  return file;
}

/**
 * Runs `install` into a fresh `dir` unless a previous run finished with the same `stamp` (the
 * version being installed). An interrupted install leaves no marker, so the next run starts over
 * instead of trusting half a directory.
 */
export async function installOnce(
  dir: string,
  stamp: string,
  install: () => Promise<void>,
): Promise<boolean> {
  const marker = join(dir, '.installed');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === stamp) return false;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  await install();
  writeFileSync(marker, stamp);
  return true;
}

/** Runs Maven in `cwd` against the stack cache's local repository (see mavenRepoLocal). */
export async function runMaven(
  settings: StackSettings,
  cwd: string,
  goals: readonly string[],
): Promise<void> {
  const args = ['-B', '-q', `-Dmaven.repo.local=${mavenRepoLocal(settings)}`, ...goals];
  try {
    await execFileAsync('mvn', args, { cwd, maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    const failure = err as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (failure.code === 'ENOENT') {
      throw new StackServiceError(
        'Maven (`mvn`) is not on the PATH; the local stack resolves Kafka and the registry with it',
        {
          cause: err,
        },
      );
    }
    const output = `${failure.stdout ?? ''}${failure.stderr ?? ''}`
      .trimEnd()
      .split('\n')
      .slice(-30)
      .join('\n');
    throw new StackServiceError(`mvn ${goals.join(' ')} failed in ${cwd}:\n${output}`, { cause: err });
  }
}

function pomFor(dependencies: readonly MavenArtifact[]): string {
  const entries = dependencies
    .map((d) =>
      [
        '    <dependency>',
        `      <groupId>${d.groupId}</groupId>`,
        `      <artifactId>${d.artifactId}</artifactId>`,
        `      <version>${d.version}</version>`,
        d.type === undefined ? '' : `      <type>${d.type}</type>`,
        d.classifier === undefined ? '' : `      <classifier>${d.classifier}</classifier>`,
        '    </dependency>',
      ]
        .filter((line) => line !== '')
        .join('\n'),
    )
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>stacklens.local</groupId>
  <artifactId>stack-service-libs</artifactId>
  <version>0</version>
  <packaging>pom</packaging>
  <dependencies>
${entries}
  </dependencies>
</project>
`;
}
