import { z } from 'zod';

/** What the benchmark asks the pipeline process over the IPC channel. */
export const ParentMessageSchema = z.discriminatedUnion('type', [
  /** Row counts of otel_logs and otel_traces, answered with a `counts` message of the same id. */
  z.object({ type: z.literal('counts'), id: z.number() }),
  /** Stop the API and the pipeline, answer `stopped`, exit. */
  z.object({ type: z.literal('stop') }),
]);
export type ParentMessage = z.infer<typeof ParentMessageSchema>;

/** What the pipeline process tells the benchmark. */
export const ChildMessageSchema = z.discriminatedUnion('type', [
  /**
   * The pipeline and the API run; the API listens on 127.0.0.1:port. hrtimeUs: process.hrtime in µs,
   * the clock of `--cpu-prof` samples, so a profile can leave the start-up out.
   */
  z.object({ type: z.literal('ready'), port: z.number().int().positive(), hrtimeUs: z.number() }),
  z.object({ type: z.literal('counts'), id: z.number(), logs: z.number(), spans: z.number() }),
  /** Stopped cleanly; maxRssKb is process.resourceUsage().maxRSS: the process's peak resident set. */
  z.object({ type: z.literal('stopped'), maxRssKb: z.number() }),
  z.object({ type: z.literal('failed'), message: z.string() }),
]);
export type ChildMessage = z.infer<typeof ChildMessageSchema>;
