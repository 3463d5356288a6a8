import { rmSync } from 'node:fs';
import { runningPid, StackServiceError, stopByPidFile } from './process';
import type { ServiceStatus, StackContext, StackService } from './service';
import type { StackSettings } from './stack-settings';

/** Where a PID-managed service keeps its files, and where clients reach it. */
export interface PidManagedService {
  /** Service name, as `stack status` shows it. */
  name: string;
  /** Human name for log lines, e.g. 'Kafka'. */
  title: string;
  paths(settings: StackSettings): { pidFile: string; logFile: string; data: string };
  endpoint(settings: StackSettings): string;
  /** How long to wait after SIGTERM before SIGKILL. */
  stopGraceMs?: number;
}

/**
 * stop, status and wipe, which are the same for every service the stack starts with
 * `startDetached`: they only need its PID file, log file and data folder.
 */
export function pidLifecycle(service: PidManagedService): Pick<StackService, 'stop' | 'status' | 'wipe'> {
  return {
    async stop({ settings, log }: StackContext): Promise<void> {
      if (await stopByPidFile(service.paths(settings).pidFile, service.stopGraceMs))
        log.info(`${service.title} stopped`);
    },
    async status({ settings }: StackContext): Promise<ServiceStatus> {
      const paths = service.paths(settings);
      const pid = runningPid(paths.pidFile);
      return {
        name: service.name,
        running: pid !== undefined,
        pid,
        endpoint: service.endpoint(settings),
        logFile: paths.logFile,
      };
    },
    async wipe({ settings, log }: StackContext): Promise<void> {
      const paths = service.paths(settings);
      if (runningPid(paths.pidFile) !== undefined) {
        throw new StackServiceError(`stop ${service.title} before wiping its data`);
      }
      rmSync(paths.data, { recursive: true, force: true });
      log.info({ dir: paths.data }, `${service.title} data wiped`);
    },
  };
}
