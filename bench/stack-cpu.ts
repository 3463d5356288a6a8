import type { Logger } from '../common/logger';
import { LocalStack } from '../infra/stack';
import type { StackSettings } from '../infra/stack-settings';
import { processCpuMs } from './cpu-window';

/** CPU time so far of each running service of the local stack, by service name. */
export type StackCpuReading = ReadonlyMap<string, { pid: number; ms: number }>;

/**
 * Reads the CPU time of the local stack's processes (Kafka, the schema registry, S3, ClickHouse). They share the
 * machine's cores with the pipeline, so what they spend in the throughput window is what the
 * pipeline's records cost the stack (every output, repartition and changelog record is written to
 * and read from the broker) and what the pipeline could not use. Services not running, or not
 * started by this stack (e.g. a remote broker), are left out.
 */
export async function readStackCpu(
  settings: StackSettings,
  log: Logger,
  /** The run's own ClickHouse server: read as `clickhouse` instead of the stack's, which it replaces. */
  clickhousePid?: number,
): Promise<StackCpuReading> {
  const reading = new Map<string, { pid: number; ms: number }>();
  for (const service of await new LocalStack(log, settings).status()) {
    const pid = service.name === 'clickhouse' ? clickhousePid : service.pid;
    if (pid === undefined) continue;
    const ms = processCpuMs(pid);
    if (ms !== null) reading.set(service.name, { pid, ms });
  }
  return reading;
}

/** CPU time each service spent between two readings (a service restarted in between is left out). */
export function stackCpuBetween(from: StackCpuReading, to: StackCpuReading): Record<string, number> {
  const spent: Record<string, number> = {};
  for (const [name, { pid, ms }] of to) {
    const before = from.get(name);
    if (before !== undefined && before.pid === pid) spent[name] = ms - before.ms;
  }
  return spent;
}
