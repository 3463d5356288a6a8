import { extname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { StackLensError } from '../common/errors';
import type { Logger, LogLevel } from '../common/logger';
import type { StackLensConfig } from '../config/config';
import type {
  ArchiveChildMessage,
  ArchiveMetrics,
  ArchiveParentMessage,
  ArchiveWorkerData,
} from './archive-protocol';

/** The archive thread failed or exited on its own. */
export class ArchiveThreadError extends StackLensError {}

/**
 * The archive application (its own consumer group, committing every ARCHIVE_FLUSH_SECONDS) in a
 * worker thread: it decodes, redacts, converts to OTLP/JSON and gzips every input record a second
 * time, work that would otherwise share the pipeline's one core. It has its own Kafka clients,
 * archive store and metrics registry; `metrics()` hands its metrics to the process's /metrics.
 */
export class ArchiveThread {
  /** Settles when the thread stops: rejects if the archive application failed. */
  readonly done: Promise<void>;
  private readonly worker: Worker;
  private readonly started: Promise<string>;
  private readonly waiting = new Map<number, (metrics: ArchiveMetrics) => void>();
  private nextId = 0;
  private stopped = false;

  constructor(config: StackLensConfig, instanceId: string, logger: Logger) {
    const data: ArchiveWorkerData = {
      config,
      instanceId,
      log: { level: logger.level as LogLevel, name: logger.bindings().name as string | undefined },
    };
    const entry = join(__dirname, `archive-worker${extname(__filename)}`);
    // From the TypeScript sources (tests, ts-node), the thread compiles its entry the same way.
    this.worker =
      extname(__filename) === '.ts'
        ? new Worker(
            `require('ts-node').register({ transpileOnly: true, swc: true }); require(${JSON.stringify(entry)});`,
            { eval: true, workerData: data },
          )
        : new Worker(entry, { workerData: data });
    let settle!: { resolve: () => void; reject: (error: Error) => void };
    this.done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    // Metrics asked for and not answered when the thread ends get none.
    void this.done
      .catch(() => undefined)
      .finally(() => {
        for (const answer of this.waiting.values()) answer([]);
        this.waiting.clear();
      });
    let ready!: { resolve: (describe: string) => void; reject: (error: Error) => void };
    this.started = new Promise<string>((resolve, reject) => (ready = { resolve, reject }));
    this.started.catch(() => undefined);
    this.worker.on('message', (message: ArchiveChildMessage) => {
      if (message.type === 'started') ready.resolve(message.describe);
      else if (message.type === 'metrics') {
        this.waiting.get(message.id)?.(message.metrics);
        this.waiting.delete(message.id);
      } else if (message.type === 'stopped') {
        this.stopped = true;
        settle.resolve();
        void this.worker.terminate();
      } else {
        const error = new ArchiveThreadError(`the archive application failed: ${message.message}`);
        ready.reject(error);
        settle.reject(error);
      }
    });
    this.worker.on('error', (error) => {
      const failure = new ArchiveThreadError(`the archive thread crashed: ${error.message}`, {
        cause: error,
      });
      ready.reject(failure);
      settle.reject(failure);
    });
    this.worker.on('exit', (code) => {
      if (this.stopped) return;
      const failure = new ArchiveThreadError(`the archive thread exited (code ${code})`);
      ready.reject(failure);
      settle.reject(failure);
    });
  }

  /** Resolves with the archive topology's description once its application runs. */
  start(): Promise<string> {
    return this.started;
  }

  /** Commits what the archive processed, leaves its group and ends the thread. */
  async stop(): Promise<void> {
    if (!this.stopped) this.send({ type: 'stop' });
    await this.done.catch(() => undefined);
  }

  /** The archive application's metrics (empty once the thread is gone). */
  metrics(): Promise<ArchiveMetrics> {
    if (this.stopped) return Promise.resolve([]);
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.send({ type: 'metrics', id });
    });
  }

  private send(message: ArchiveParentMessage): void {
    this.worker.postMessage(message);
  }
}
