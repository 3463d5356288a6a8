import { z } from 'zod';

/** What the benchmark asks the pipeline process over the IPC channel. */
export const ParentMessageSchema = z.discriminatedUnion('type', [
  /** Row counts of otel_logs and otel_traces, answered with a `counts` message of the same id. */
  z.object({ type: z.literal('counts'), id: z.number() }),
  /**
   * The throughput window opens: measure the process's CPU time from now on and, with cpuProfileFile,
   * run the V8 profiler (node:inspector) until `profile-stop`. Answered with `profile-started`.
   */
  z.object({ type: z.literal('profile-start'), cpuProfileFile: z.string().min(1).optional() }),
  /** The throughput window closes: answered with `profile-stopped`, once the profile file is written. */
  z.object({ type: z.literal('profile-stop') }),
  /** Stop the API and the pipeline, answer `stopped`, exit. */
  z.object({ type: z.literal('stop') }),
]);
export type ParentMessage = z.infer<typeof ParentMessageSchema>;

/**
 * What the pipeline process spent between `profile-start` and `profile-stop`: wall time on its own clock,
 * process.cpuUsage (every thread of the process: the main thread, chDB's and libuv's pools) and the
 * main thread's own CPU time (null where the OS does not tell it).
 */
export const CpuWindowSchema = z.object({
  wallMs: z.number().nonnegative(),
  userMs: z.number().nonnegative(),
  systemMs: z.number().nonnegative(),
  mainThreadMs: z.number().nonnegative().nullable(),
  /** CPU time of the other threads by thread name (see cpu-window.ts); null off Linux. */
  otherThreadsMs: z.record(z.string(), z.number().nonnegative()).nullable(),
  /**
   * How late the main thread's event loop ran what was due (perf_hooks.monitorEventLoopDelay): what a
   * commit's next request, a fetch or an API request waited for the work before it.
   */
  eventLoopDelayMs: z.object({ p99: z.number().nonnegative(), max: z.number().nonnegative() }),
});
export type CpuWindow = z.infer<typeof CpuWindowSchema>;

/** What the pipeline process tells the benchmark. */
export const ChildMessageSchema = z.discriminatedUnion('type', [
  /** The pipeline and the API run; the API listens on 127.0.0.1:port. */
  z.object({ type: z.literal('ready'), port: z.number().int().positive() }),
  z.object({ type: z.literal('counts'), id: z.number(), logs: z.number(), spans: z.number() }),
  z.object({ type: z.literal('profile-started') }),
  CpuWindowSchema.extend({ type: z.literal('profile-stopped') }),
  /**
   * Stopped cleanly; maxRssKb is the process's own peak resident set, largestRssSample what the
   * largest of its samples was made of (null off Linux); see ./process-memory.ts.
   */
  z.object({
    type: z.literal('stopped'),
    maxRssKb: z.number(),
    largestRssSample: z.object({ anonKb: z.number(), fileKb: z.number() }).nullable(),
  }),
  z.object({ type: z.literal('failed'), message: z.string() }),
]);
export type ChildMessage = z.infer<typeof ChildMessageSchema>;
