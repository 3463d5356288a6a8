import { fork, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { BenchError } from './errors';
import {
  ChildMessageSchema,
  type ChildMessage,
  type CpuWindow,
  type ParentMessage,
} from './pipeline-protocol';

export interface PipelineChildOptions {
  /** The built pipeline process, dist/bench/pipeline-process.js. */
  script: string;
  env: NodeJS.ProcessEnv;
  /** Where the process's own log (stdout and stderr) goes. */
  logFile: string;
}

/**
 * The pipeline process seen from the benchmark: ask for row counts, measure its CPU over a window, stop
 * it, learn its peak memory.
 */
export class PipelineChild {
  private readonly child: ChildProcess;
  private readonly waiting = new Map<string, (message: ChildMessage) => void>();
  private nextId = 0;
  private failure: BenchError | undefined;
  private readonly exited: Promise<number | null>;

  constructor(options: PipelineChildOptions) {
    const log = createWriteStream(options.logFile, { flags: 'a' });
    this.child = fork(options.script, [], {
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.child.stdout?.pipe(log);
    this.child.stderr?.pipe(log);
    this.child.on('message', (raw: unknown) => {
      const message = ChildMessageSchema.parse(raw);
      if (message.type === 'failed') {
        this.fail(
          new BenchError(`the pipeline process failed: ${message.message} (log: ${options.logFile})`),
        );
        return;
      }
      const key = message.type === 'counts' ? `counts:${message.id}` : message.type;
      this.waiting.get(key)?.(message);
      this.waiting.delete(key);
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code) => {
        if (code !== 0) {
          this.fail(
            new BenchError(`the pipeline process exited with code ${code} (log: ${options.logFile})`),
          );
        }
        resolve(code);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Resolves with the API's port once the pipeline and the API run. */
  async ready(timeoutMs: number): Promise<number> {
    const message = await this.expect('ready', timeoutMs, () => undefined);
    return (message as Extract<ChildMessage, { type: 'ready' }>).port;
  }

  /**
   * Opens the measured window: resolves once the process counts its CPU time from now on and, with
   * `cpuProfileFile`, its V8 profiler runs (the profile is written there by stopProfile).
   */
  async startProfile(timeoutMs: number, cpuProfileFile?: string): Promise<void> {
    await this.expect('profile-started', timeoutMs, () =>
      this.send({ type: 'profile-start', cpuProfileFile }),
    );
  }

  /** Closes the window: its wall and CPU time, once the profile file (if any) is written. */
  async stopProfile(timeoutMs: number): Promise<CpuWindow> {
    const message = await this.expect('profile-stopped', timeoutMs, () =>
      this.send({ type: 'profile-stop' }),
    );
    const { type: _, ...spent } = message as Extract<ChildMessage, { type: 'profile-stopped' }>;
    return spent;
  }

  async rowCounts(timeoutMs = 30_000): Promise<{ logs: number; spans: number }> {
    const id = this.nextId++;
    const message = await this.expect(`counts:${id}`, timeoutMs, () => this.send({ type: 'counts', id }));
    const { logs, spans } = message as Extract<ChildMessage, { type: 'counts' }>;
    return { logs, spans };
  }

  /** Stops the pipeline cleanly and resolves with its peak resident set and what it was made of. */
  async stop(timeoutMs: number): Promise<Extract<ChildMessage, { type: 'stopped' }>> {
    const message = await this.expect('stopped', timeoutMs, () => this.send({ type: 'stop' }));
    await this.exited;
    return message as Extract<ChildMessage, { type: 'stopped' }>;
  }

  /** Ends the process if it still runs (after a failure elsewhere). */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      await this.exited;
    }
  }

  private send(message: ParentMessage): void {
    this.child.send(message);
  }

  private fail(error: BenchError): void {
    this.failure ??= error;
    for (const resolve of this.waiting.values()) resolve({ type: 'failed', message: error.message });
    this.waiting.clear();
  }

  private expect(key: string, timeoutMs: number, ask: () => void): Promise<ChildMessage> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(key);
        reject(
          new BenchError(`the pipeline process did not answer ${key.split(':')[0]} within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      this.waiting.set(key, (message) => {
        clearTimeout(timer);
        if (message.type === 'failed') reject(this.failure ?? new BenchError(message.message));
        else resolve(message);
      });
      ask();
    });
  }
}
