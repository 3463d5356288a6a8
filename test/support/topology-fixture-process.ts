import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

import { waitFor } from './wait-for';

const FIXTURE = join(__dirname, 'topology-fixture-app.ts');

/** The fixture app in a child process, with its JSON log lines collected. */
export class FixtureProcess {
  readonly logs: Record<string, unknown>[] = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(env: Record<string, string>) {
    this.child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', FIXTURE], {
      env: { ...process.env, ...env, TS_NODE_SWC: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let pending = '';
    this.child.stdout?.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        try {
          this.logs.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          this.logs.push({ msg: line });
        }
      }
    });
    let stderr = '';
    this.child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
    void this.exited.then((code) => {
      if (code !== 0 && code !== null && stderr) console.error(`fixture exited ${code}: ${stderr}`);
    });
  }

  hasLog(predicate: (entry: Record<string, unknown>) => boolean): boolean {
    return this.logs.some(predicate);
  }

  async waitForLog(
    predicate: (entry: Record<string, unknown>) => boolean,
    what: string,
    timeoutMs = 60_000,
  ): Promise<void> {
    await waitFor(what, () => this.hasLog(predicate), timeoutMs);
  }

  /** Task ids of the latest assignment logged. */
  assignedTasks(): string[] {
    const last = [...this.logs].reverse().find((l) => l.msg === 'partitions assigned');
    return (last?.assigned as string[] | undefined) ?? [];
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }
}
