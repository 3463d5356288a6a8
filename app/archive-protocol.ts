import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import { z } from 'zod';
import type { LogLevel } from '../common/logger';
import type { StackLensConfig } from '../config/config';

/** What the archive thread starts from (structured-cloned into the worker). */
export interface ArchiveWorkerData {
  readonly config: StackLensConfig;
  readonly instanceId: string;
  /** The parent logger's level and name, so the thread logs like the rest of the process. */
  readonly log: { readonly level: LogLevel; readonly name: string | undefined };
}

/** Parent → archive thread. */
export const ArchiveParentMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('stop') }),
  z.object({ type: z.literal('metrics'), id: z.number().int() }),
]);
export type ArchiveParentMessage = z.infer<typeof ArchiveParentMessageSchema>;

export type ArchiveMetrics = MetricObjectWithValues<MetricValue<string>>[];

/** Archive thread → parent. */
export type ArchiveChildMessage =
  | { type: 'started'; describe: string }
  | { type: 'stopped' }
  | { type: 'failed'; message: string }
  | { type: 'metrics'; id: number; metrics: ArchiveMetrics };
