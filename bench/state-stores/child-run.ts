import { spawn } from 'node:child_process';
import { readStatus, statusFieldKb } from '../process-memory';

/**
 * Runs `script child ...args` in a fresh Node process (its own heap and RSS, `--expose-gc`) and
 * resolves with the JSON object the child printed last on stdout.
 */
export function runChild<T>(script: string, args: readonly string[], label: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--expose-gc', ...process.execArgv, script, 'child', ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    proc.on('exit', (code) => {
      if (code !== 0) reject(new Error(`${label} run exited ${code}`));
      else resolve(JSON.parse(out.trim().split('\n').pop()!) as T);
    });
  });
}

/** RssFile of /proc/self/status (Linux): file-backed resident pages; 0 where there is no /proc. */
export function rssFileMiB(): number {
  const status = readStatus();
  return (status === null ? 0 : (statusFieldKb(status, 'RssFile') ?? 0)) / 1024;
}
