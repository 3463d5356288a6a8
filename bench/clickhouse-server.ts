import { join } from 'node:path';
import { freePort, stopByPidFile } from '../infra/process';
import { startClickHouseProcess } from '../infra/services/clickhouse';
import { readStatus, statusFieldKb } from './process-memory';

/**
 * The run's own ClickHouse server (chDB in its own process, as the local stack runs it) on fresh data in
 * the run's folder, so that no other database's parts and merges share the measurement, and its peak
 * memory is the run's alone.
 */
export class BenchClickHouse {
  private constructor(
    readonly url: string,
    readonly pid: number,
    private readonly pidFile: string,
  ) {}

  static async start(runDir: string): Promise<BenchClickHouse> {
    const port = await freePort();
    const pidFile = join(runDir, 'clickhouse.pid');
    const pid = await startClickHouseProcess({
      host: '127.0.0.1',
      port,
      path: join(runDir, 'clickhouse'),
      logFile: join(runDir, 'clickhouse.log'),
      pidFile,
    });
    return new BenchClickHouse(`http://127.0.0.1:${port}`, pid, pidFile);
  }

  /** The process's peak resident set so far (VmHWM), in KiB; null off Linux. */
  peakRssKb(): number | null {
    const status = readStatus(this.pid);
    return status === null ? null : statusFieldKb(status, 'VmHWM');
  }

  async stop(): Promise<void> {
    await stopByPidFile(this.pidFile);
  }
}
