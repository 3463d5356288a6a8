import { z } from 'zod';

/**
 * The seeds' log contract (`log_schema`): one JSON log record per Kafka message, written by custom
 * loggers next to the Collector's OTLP batches on `otel-logs`. Unknown top-level fields are allowed (loggers
 * add environment, method, path, latency, ...) and kept as log attributes.
 */
const hex = (length: number) =>
  z
    .string()
    .regex(new RegExp(`^[0-9a-fA-F]{${length}}$`), `must be ${length} hex characters`)
    .nullish();

export const LOG_LEVELS = [
  'trace',
  'debug',
  'info',
  'warn',
  'warning',
  'error',
  'fatal',
  'critical',
] as const;

export const LogContractSchema = z
  .object({
    /** ISO-8601 with offset, or epoch seconds/milliseconds/microseconds/nanoseconds (told apart by magnitude). */
    timestamp: z.union([z.iso.datetime({ offset: true }), z.number().nonnegative()]),
    service: z.string().min(1),
    level: z.enum([
      ...LOG_LEVELS,
      ...LOG_LEVELS.map((l) => l.toUpperCase() as Uppercase<(typeof LOG_LEVELS)[number]>),
    ]),
    message: z.string(),
    trace_id: hex(32),
    span_id: hex(16),
    request_id: z.string().nullish(),
    error_code: z.string().nullish(),
    user_id: z.string().nullish(),
    product_id: z.string().nullish(),
    action: z.string().nullish(),
    status: z.enum(['success', 'failure']).nullish(),
    app_version: z.string().nullish(),
    attrs: z.record(z.string(), z.unknown()).optional(),
  })
  .loose();

export type LogContractRecord = z.infer<typeof LogContractSchema>;

/** JSON Schema (draft 2020-12) of the log contract, generated from the zod schema so the two cannot drift. */
export function logContractJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(LogContractSchema, { io: 'input' }),
    $id: 'https://stacklens.io/schemas/log-record.schema.json',
    title: 'StackLens JSON log record',
  };
}

/** Heuristic: does a parsed JSON object look like a contract log record (rather than some other document)? */
export function looksLikeLogContract(value: Record<string, unknown>): boolean {
  return 'message' in value && ('level' in value || 'timestamp' in value || 'service' in value);
}
