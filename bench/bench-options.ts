import { z } from 'zod';
import { StackLensError } from '../common/errors';

/** A benchmark option is out of range; the message names each one and why. */
export class BenchOptionsError extends StackLensError {}

/**
 * What `stacklens bench` generates and measures. The defaults finish in about half a minute on a 2-core
 * machine: ~18 000 records (11 MB) preloaded, then 15 s of alert probes.
 */
const BenchOptionsSchema = z
  .object({
    /** Traces produced for the throughput phase. */
    traces: z.number().int().min(1).max(100_000).default(1_000),
    /** OTLP records per Kafka message (what the Collector's batch processor groups into one request). */
    recordsPerBatch: z.number().int().min(1).max(10_000).default(200),
    /** Spans per trace; the request itself has 5. */
    spansPerTrace: z.number().int().min(5).max(100).default(5),
    /** DEBUG logs inside every span, besides the request's own 3–4 logs. */
    logsPerSpan: z.number().int().min(0).max(50).default(2),
    /** Extra attributes on every span and log. */
    attributes: z.number().int().min(0).max(100).default(10),
    /** Fraction of preloaded traces that fail. */
    errorRatio: z.number().min(0).max(1).default(0.1),
    /** Alert probes (error logs) produced per second in the latency phase. */
    latencyRate: z.number().positive().max(200).default(10),
    /** Alert probes in the latency phase. */
    latencyProbes: z.number().int().min(1).max(10_000).default(150),
    /** Bound on each phase's wait, in seconds. */
    timeoutSeconds: z.number().int().min(10).max(3_600).default(300),
    /**
     * Where the pipeline's ClickHouse runs: `server`, chDB in a process of its own behind ClickHouse's
     * HTTP interface (how the local stack runs it, and where a production ClickHouse is: outside the
     * StackLens process), started for the run on fresh data; `embedded`, chDB inside the pipeline process.
     */
    clickhouse: z.enum(['server', 'embedded']).default('server'),
    /** Folder for a V8 CPU profile of the pipeline process over the throughput window; none when absent. */
    profileDir: z.string().min(1).optional(),
    /** File the figures are written to as JSON; none when absent. */
    jsonFile: z.string().min(1).optional(),
  })
  .strict();

export type BenchOptionsInput = z.input<typeof BenchOptionsSchema>;
export type BenchOptions = z.output<typeof BenchOptionsSchema>;

/** Fills in the defaults and checks every option at once. */
export function benchOptions(input: BenchOptionsInput = {}): BenchOptions {
  const parsed = BenchOptionsSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`);
    throw new BenchOptionsError(`invalid benchmark options:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
  return parsed.data;
}
