import { z } from 'zod';
import { BadParameterError } from '../errors';
import { parseDurationSeconds, parseTimeToNanos } from '../query/time';

/**
 * Zod schemas of every query and path parameter. Routes validate with them and /openapi.json is generated
 * from them, so the documentation cannot drift from what is enforced.
 */

const SEVERITY_FLOOR = {
  trace: 1,
  debug: 5,
  info: 9,
  warn: 13,
  warning: 13,
  error: 17,
  fatal: 21,
  critical: 21,
} as const;

const text = (max: number, description: string) =>
  z.string().min(1, 'must not be empty').max(max).describe(description);

const time = (description: string) =>
  z
    .string()
    .transform((v, ctx) => {
      const nanos = parseTimeToNanos(v);
      if (nanos === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `must be an RFC 3339 timestamp or a unix epoch (s, ms, µs or ns), got "${v}"`,
        });
        return z.NEVER;
      }
      return nanos;
    })
    .describe(description);

/** Minimum severity: a level name or an OTel severity number 1..24. */
const level = z
  .string()
  .transform((v, ctx) => {
    const named = SEVERITY_FLOOR[v.trim().toLowerCase() as keyof typeof SEVERITY_FLOOR];
    if (named !== undefined) return named;
    const n = Number(v);
    if (Number.isInteger(n) && n >= 1 && n <= 24) return n;
    ctx.addIssue({
      code: 'custom',
      message: `must be trace, debug, info, warn, error, fatal or a severity number 1-24, got "${v}"`,
    });
    return z.NEVER;
  })
  .describe(
    'Minimum severity: trace, debug, info, warn, error, fatal, or an OpenTelemetry severity number 1-24',
  );

const hexOrId = (description: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be 1-128 letters, digits, ".", "_", ":" or "-"')
    .transform((v) => (/^[0-9A-Fa-f]+$/.test(v) ? v.toLowerCase() : v))
    .describe(description);

export const limitParam = (defaultSize: number, maxSize: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return defaultSize;
      const n = Number(v);
      if (!/^\d+$/.test(v) || n < 1 || n > maxSize) {
        ctx.addIssue({
          code: 'custom',
          message: `must be a whole number between 1 and ${maxSize}, got "${v}"`,
        });
        return z.NEVER;
      }
      return n;
    })
    .describe(`Maximum number of items (1-${maxSize}, default ${defaultSize})`);

const window = (fallbackSeconds: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return fallbackSeconds;
      const seconds = parseDurationSeconds(v);
      if (seconds === undefined || seconds < 1 || seconds > 90 * 86_400) {
        ctx.addIssue({
          code: 'custom',
          message: `must be a duration such as 30s, 15m, 1h or 7d (at most 90d), got "${v}"`,
        });
        return z.NEVER;
      }
      return seconds;
    })
    .describe('Look-back window when start_time is not given, e.g. 15m, 1h, 7d');

/** Query parameter carrying a bearer token for clients that cannot set headers (EventSource, browsers' WebSocket). */
export const ACCESS_TOKEN_PARAM = 'access_token';

/** Prefix of custom attribute filters: `attr.circuit_id=CIRCUIT-123`. */
export const ATTRIBUTE_PARAM_PREFIX = 'attr.';
/** Promoted custom attributes accepted as plain parameters, looked up among log and resource attributes. */
export const ATTRIBUTE_PARAMS = [
  'circuit_id',
  'product_id',
  'resource_id',
  'resource_type_id',
  'request_id',
  'env',
] as const;

const logFilterShape = {
  service: text(256, 'Service name (OTel service.name)').optional(),
  level: level.optional(),
  trace_id: hexOrId('Trace id').optional(),
  span_id: hexOrId('Span id').optional(),
  workflow_id: text(256, 'Workflow id (log or resource attribute workflow_id / workflow.id)').optional(),
  q: text(1_000, 'Case-insensitive substring of the log body').optional(),
  ...Object.fromEntries(ATTRIBUTE_PARAMS.map((k) => [k, text(1_000, `Custom attribute ${k}`).optional()])),
} as Record<string, z.ZodType>;

export const logsQuerySchema = (defaultSize: number, maxSize: number) =>
  z.strictObject({
    ...logFilterShape,
    start_time: time('Earliest record time (inclusive): RFC 3339 or unix epoch').optional(),
    end_time: time('Latest record time (inclusive): RFC 3339 or unix epoch').optional(),
    limit: limitParam(defaultSize, maxSize),
    cursor: z.string().max(512).describe('Opaque cursor from a previous page (next_cursor)').optional(),
  });

/** Live-tail filters (same meaning as on GET /api/logs). */
export const liveLogsQuerySchema = z.strictObject({
  ...logFilterShape,
  access_token: z
    .string()
    .max(1_024)
    .describe('Bearer token, for clients that cannot set headers')
    .optional(),
  last_event_id: z
    .string()
    .max(128)
    .describe('Resume after this event id (same as the Last-Event-ID header)')
    .optional(),
});

export const liveAlertsQuerySchema = z.strictObject({
  severity: z.enum(['info', 'warn', 'error']).describe('Minimum alert severity').optional(),
  service: text(256, 'Service the alert is about').optional(),
  access_token: z
    .string()
    .max(1_024)
    .describe('Bearer token, for clients that cannot set headers')
    .optional(),
  last_event_id: z
    .string()
    .max(128)
    .describe('Resume after this event id (same as the Last-Event-ID header)')
    .optional(),
});

export const traceParamsSchema = z.strictObject({ traceId: hexOrId('Trace id (32 hex digits)') });

export const correlationsQuerySchema = (defaultSize: number, maxSize: number) =>
  z.strictObject({
    trace_id: hexOrId('Trace id').optional(),
    service: text(256, 'A service taking part in the trace').optional(),
    start_time: time('Earliest trace start (inclusive)').optional(),
    end_time: time('Latest trace start (inclusive)').optional(),
    limit: limitParam(defaultSize, maxSize),
  });

export const alertsQuerySchema = (defaultSize: number, maxSize: number) =>
  z.strictObject({
    severity: z.enum(['info', 'warn', 'error']).describe('Minimum alert severity').optional(),
    service: text(256, 'Service the alert is about').optional(),
    issue_code: text(256, 'Issue code, e.g. PRICE_MISSING').optional(),
    trace_id: hexOrId('Related trace id').optional(),
    start_time: time('Earliest created_at (inclusive)').optional(),
    end_time: time('Latest created_at (inclusive)').optional(),
    limit: limitParam(defaultSize, maxSize),
  });

export const servicesQuerySchema = z.strictObject({
  window: window(3_600),
  start_time: time('Start of the window (overrides window)').optional(),
  end_time: time('End of the window (default now)').optional(),
});

export const workflowsQuerySchema = (defaultSize: number, maxSize: number) =>
  z.strictObject({
    window: window(86_400),
    service: text(256, 'Only workflows with activity from this service').optional(),
    limit: limitParam(defaultSize, maxSize),
  });

export const patternsQuerySchema = (defaultSize: number, maxSize: number) =>
  z.strictObject({
    service: text(256, 'Only the patterns of this service').optional(),
    start_time: time('Earliest bucket start (inclusive)').optional(),
    end_time: time('Latest bucket start (exclusive; default now)').optional(),
    limit: limitParam(defaultSize, maxSize).describe('Patterns per service, most frequent first'),
  });

export type LogsQuery = {
  service?: string;
  level?: number;
  trace_id?: string;
  span_id?: string;
  workflow_id?: string;
  q?: string;
  start_time?: bigint;
  end_time?: bigint;
  limit: number;
  cursor?: string;
} & Partial<Record<(typeof ATTRIBUTE_PARAMS)[number], string>>;

/** Query string as Express parses it. */
export type RawQuery = Record<string, unknown>;

/** Splits `attr.*` parameters off (they have free-form names) and validates the rest with `schema`. */
export function parseQuery<T>(
  schema: z.ZodType<T>,
  raw: RawQuery,
  allowAttributes = false,
): { params: T; attributes: [string, string][] } {
  const rest: RawQuery = {};
  const attributes: [string, string][] = [];
  for (const [key, value] of Object.entries(raw)) {
    if (key === ACCESS_TOKEN_PARAM) continue; // credentials, checked by the authenticator
    if (allowAttributes && key.startsWith(ATTRIBUTE_PARAM_PREFIX)) {
      const name = key.slice(ATTRIBUTE_PARAM_PREFIX.length);
      if (!/^[A-Za-z0-9._:/-]{1,256}$/.test(name))
        throw new BadParameterError(
          key,
          'attribute name must be 1-256 letters, digits, ".", "_", ":", "/" or "-"',
        );
      if (typeof value !== 'string' || value.length > 1_000)
        throw new BadParameterError(key, 'must be given once, as a string of at most 1000 characters');
      attributes.push([name, value]);
    } else {
      rest[key] = value;
    }
  }
  if (attributes.length > 16)
    throw new BadParameterError(ATTRIBUTE_PARAM_PREFIX + '*', 'at most 16 attribute filters');
  return { params: parseWith(schema, rest), attributes };
}

/** Validates `value`; the first problem becomes a 400 naming the parameter or field. */
export function parseWith<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue === undefined) throw new BadParameterError('request', 'invalid');
  if (issue.code === 'unrecognized_keys') {
    const path = fieldPath(issue.path);
    const key = issue.keys[0] ?? '';
    throw new BadParameterError(path === '' ? key : `${path}.${key}`, 'unknown parameter');
  }
  throw new BadParameterError(fieldPath(issue.path) || 'body', issue.message);
}

/** `records[3].trace_id` style path. */
function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc === '' ? String(p) : `${acc}.${String(p)}`),
    '',
  );
}
