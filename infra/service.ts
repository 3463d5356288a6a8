import type { Logger } from '../common/logger';
import type { StackSettings } from './stack-settings';

/** What every service of the local stack gets: where its files go, its ports, a logger. */
export interface StackContext {
  settings: StackSettings;
  log: Logger;
}

export interface ServiceStatus {
  name: string;
  running: boolean;
  pid?: number;
  endpoint: string;
  logFile: string;
}

/**
 * One service of the local stack (Kafka, the schema registry, S3). Every method is idempotent:
 * `install` reuses the cache, `start` does nothing when the service is already healthy,
 * `stop` does nothing when it is not running.
 */
export interface StackService {
  readonly name: string;
  /** Downloads and unpacks what the service needs into the cache. */
  install(ctx: StackContext): Promise<void>;
  /** Starts the service bound to 127.0.0.1 and resolves once it is healthy. */
  start(ctx: StackContext): Promise<void>;
  stop(ctx: StackContext): Promise<void>;
  status(ctx: StackContext): Promise<ServiceStatus>;
  /** Deletes the service's data (not the cached installation). Only called while stopped. */
  wipe(ctx: StackContext): Promise<void>;
}
