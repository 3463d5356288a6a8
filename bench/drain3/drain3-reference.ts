import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { StackLensError } from '../../common/errors';
import { installOnce } from '../../infra/services/maven';
import type { StackSettings } from '../../infra/stack-settings';
import type { DrainSettings } from '../../processors/patterns/drain';

const execFileAsync = promisify(execFile);

/** Drain3 could not be installed or run. */
export class Drain3Error extends StackLensError {}

/**
 * The reference implementation the Drain miner is checked and measured against: Drain3 from PyPI,
 * pinned, installed on first use into a virtual environment under the stack cache (git-ignored,
 * kept across runs) by `python3 -m venv` and its pip.
 */
export const DRAIN3_VERSION = '0.9.11';
/** Next to this module in the sources; from dist/bench/drain3, the sources' copy. */
const SCRIPT = [
  join(__dirname, 'drain3_clusters.py'),
  join(__dirname, '..', '..', '..', 'bench', 'drain3', 'drain3_clusters.py'),
].find((path) => existsSync(path)) as string;

export interface Drain3Result {
  clusters: { id: number; template: string; size: number }[];
  /** The cluster id Drain3 gave each line. */
  line_clusters: number[];
  /** Time Drain3 spent mining, measured in Python (interpreter start and I/O excluded). */
  seconds: number;
}

/** Installs Drain3 if needed; returns the venv's python. */
export async function ensureDrain3(settings: StackSettings): Promise<string> {
  const home = join(settings.cacheDir, `drain3-${DRAIN3_VERSION}`);
  const python = join(home, 'venv', 'bin', 'python');
  await installOnce(home, DRAIN3_VERSION, async () => {
    await run('python3', ['-m', 'venv', join(home, 'venv')]);
    await run(python, [
      '-m',
      'pip',
      'install',
      '--disable-pip-version-check',
      '--no-input',
      '--quiet',
      `drain3==${DRAIN3_VERSION}`,
    ]);
  });
  if (!existsSync(python)) throw new Drain3Error(`no python in the Drain3 venv at ${home}`);
  return python;
}

/** Runs Drain3 with the same settings on `lines` (none may hold a '\n'). */
export async function runDrain3(
  python: string,
  settings: DrainSettings,
  lines: readonly string[],
): Promise<Drain3Result> {
  const child = spawn(python, [SCRIPT, JSON.stringify(settings)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  child.stdin.end(lines.map((l) => `${l}\n`).join(''));
  const code = await exited;
  if (code !== 0)
    throw new Drain3Error(`drain3 exited with ${code}: ${Buffer.concat(err).toString().slice(-2000)}`);
  return JSON.parse(Buffer.concat(out).toString()) as Drain3Result;
}

async function run(command: string, args: readonly string[]): Promise<void> {
  try {
    await execFileAsync(command, args, { maxBuffer: 16 * 1024 * 1024 });
  } catch (cause) {
    const failure = cause as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (failure.code === 'ENOENT') throw new Drain3Error(`${command} is not on the PATH`, { cause });
    const output = `${failure.stdout ?? ''}${failure.stderr ?? ''}`
      .trimEnd()
      .split('\n')
      .slice(-30)
      .join('\n');
    throw new Drain3Error(`${command} ${args.join(' ')} failed:\n${output}`, { cause });
  }
}
