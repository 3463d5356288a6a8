import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { waitFor } from './wait-for';

const CLI = join(__dirname, '..', '..', 'cli', 'stacklens.ts');

/** `stacklens deliver` in a child process (the CLI as users run it), with its JSON log lines collected. */
export class DeliveryProcess {
  readonly logs: Record<string, unknown>[] = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;
  private stderr = '';

  constructor(env: Record<string, string>, args: string[] = []) {
    this.child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', CLI, 'deliver', ...args], {
      env: { ...process.env, ...env, LOG_FORMAT: 'json', TS_NODE_SWC: 'true' },
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
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  count(predicate: (entry: Record<string, unknown>) => boolean): number {
    return this.logs.filter(predicate).length;
  }

  async waitForLog(
    what: string,
    predicate: (entry: Record<string, unknown>) => boolean,
    count = 1,
  ): Promise<void> {
    await waitFor(
      `${what} (stderr: ${this.stderr.slice(-500)})`,
      () => {
        if (this.child.exitCode !== null)
          throw new Error(`stacklens deliver exited ${this.child.exitCode}: ${this.stderr}`);
        return this.count(predicate) >= count;
      },
      90_000,
    );
  }

  /** The port of `--metrics-port 0`, from its log line. */
  metricsPort(): number {
    const line = this.logs.find((l) => l.msg === 'delivery metrics served on /metrics');
    if (line === undefined) throw new Error('no metrics port logged');
    return line.port as number;
  }

  async metric(name: string, labels: Record<string, string>): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${this.metricsPort()}/metrics`)).text();
    const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
    const line = text
      .split('\n')
      .find(
        (l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && wanted.every((w) => l.includes(w)),
      );
    return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }
}
