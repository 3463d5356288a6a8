import { z } from 'zod';
import { DeliverySectionsSchema } from '../delivery/receivers';
import { AlertRulesError } from '../errors';
import type { AlertSeverity } from '../records';

/**
 * The alert rules file (config/alert-rules.json). Three rule types:
 * - `match`: one log matching `when` raises an alert;
 * - `threshold`: logs matching `when`, counted per `group_by` over a sliding `window_seconds`, raise an alert
 *   when `metric` (count, rate per second, or ratio of `when` matches to `scope` matches) exceeds `above`;
 * - `trace`: a trace correlation matching `when` (errors, duration above a bound...) raises an alert.
 * Every rule has alert fields (issue_code, severity, ...) and a dedup policy: alerts with the same rule and
 * dedup key within one cooldown window collapse into one alert with a count.
 * Text fields accept placeholders such as {service}, {error_code}, {trace_id}, {value}, {count}.
 */

const LEVELS = ['unspecified', 'trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type Level = (typeof LEVELS)[number];

/** Record fields usable as dedup / group keys. */
export const KEY_FIELDS = [
  'service',
  'env',
  'error_code',
  'trace_id',
  'workflow_id',
  'circuit_id',
  'product_id',
  'resource_id',
  'resource_type_id',
] as const;
export type KeyField = (typeof KEY_FIELDS)[number];

const nonEmptyList = z.array(z.string().min(1)).min(1);

const LogFilterSchema = z
  .object({
    /** Exact severity ranges, e.g. ["error", "fatal"]. */
    level: z.array(z.enum(LEVELS)).min(1).optional(),
    /** Severity at least this range. */
    min_level: z.enum(LEVELS).optional(),
    service: nonEmptyList.optional(),
    env: nonEmptyList.optional(),
    /** Exact codes; "*" matches any non-empty code. */
    error_code: nonEmptyList.optional(),
    /** Case-insensitive regex on the body. */
    body: z.string().min(1).optional(),
    /** Attribute key → case-insensitive regex on its value (log attributes, then resource attributes). */
    attributes: z.record(z.string().min(1), z.string().min(1)).optional(),
  })
  .strict();

const TraceFilterSchema = z
  .object({
    /** Trace lasts at least this long. */
    min_duration_ms: z.number().nonnegative().optional(),
    /** Trace has (true) / has no (false) error spans or error logs. */
    has_error: z.boolean().optional(),
    /** First error code of the trace; "*" matches any non-empty code. */
    error_code: nonEmptyList.optional(),
    /** Any of these services took part in the trace. */
    service: nonEmptyList.optional(),
    root_service: nonEmptyList.optional(),
  })
  .strict();

const AlertFieldsSchema = z
  .object({
    issue_code: z.string().min(1),
    severity: z.enum(['error', 'warn', 'info']),
    message: z.string().min(1),
    suggested_fix: z.string().default(''),
    confidence: z.number().min(0).max(1).default(1),
    automation_possible: z.boolean().default(false),
    automation_action: z.string().min(1).nullable().default(null),
    created_by: z.string().min(1).default('system'),
  })
  .strict();

const DedupSchema = z
  .object({
    /** Fields forming the dedup key (defaults: match → service, threshold → group_by, trace → trace_id). */
    by: z.array(z.enum(KEY_FIELDS)).optional(),
    /** Alerts with the same rule and key within one window of this length become one alert. */
    cooldown_seconds: z.number().int().positive().default(300),
  })
  .strict();

const common = {
  id: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'use letters, digits, ".", "_" or "-"'),
  description: z.string().optional(),
  enabled: z.boolean().default(true),
  alert: AlertFieldsSchema,
  dedup: DedupSchema.default({ cooldown_seconds: 300 }),
};

const MatchRuleSchema = z.object({ ...common, type: z.literal('match'), when: LogFilterSchema }).strict();

const ThresholdRuleSchema = z
  .object({
    ...common,
    type: z.literal('threshold'),
    /** Records counted as hits. */
    when: LogFilterSchema,
    /** Records counted in the denominator of `ratio` (default: all logs). */
    scope: LogFilterSchema.default({}),
    metric: z.enum(['count', 'rate', 'ratio']),
    /** Alert when the metric is strictly above this (count: hits; rate: hits per second; ratio: 0..1). */
    above: z.number().nonnegative(),
    window_seconds: z.number().int().positive(),
    group_by: z.array(z.enum(KEY_FIELDS)).default(['service']),
    /** Minimum records in scope before the rule may fire (avoids 1/1 = 100%). */
    min_total: z.number().int().nonnegative().default(0),
  })
  .strict();

/**
 * A trace rule raises one alert per trace: a trace's correlation is evaluated again whenever it grows
 * (a late log or span), and each evaluation must update that trace's alert, whatever it now holds
 * (its root service, first error code, end time). So its dedup key can only be the trace.
 */
const TraceRuleSchema = z
  .object({
    ...common,
    type: z.literal('trace'),
    when: TraceFilterSchema,
    dedup: DedupSchema.refine((d) => d.by === undefined || (d.by.length === 1 && d.by[0] === 'trace_id'), {
      message: 'a trace rule raises one alert per trace: dedup.by may only be ["trace_id"]',
    }).default({ cooldown_seconds: 300 }),
  })
  .strict();

const RuleSchema = z.discriminatedUnion('type', [MatchRuleSchema, ThresholdRuleSchema, TraceRuleSchema]);

export const AlertRulesFileSchema = z
  .object({
    version: z.literal(1),
    rules: z.array(RuleSchema),
    /** Where alerts are delivered (processors/delivery); optional, so older files stay valid. */
    ...DeliverySectionsSchema,
  })
  .strict();

export type AlertRulesFile = z.input<typeof AlertRulesFileSchema>;
type RuleInput = z.output<typeof RuleSchema>;
type LogFilterInput = z.output<typeof LogFilterSchema>;

export interface CompiledLogFilter {
  levels: ReadonlySet<Level> | undefined;
  minLevel: number | undefined;
  service: ReadonlySet<string> | undefined;
  env: ReadonlySet<string> | undefined;
  errorCode: ReadonlySet<string> | undefined;
  body: RegExp | undefined;
  attributes: readonly (readonly [string, RegExp])[];
}

export interface AlertTemplate {
  issue_code: string;
  severity: AlertSeverity;
  message: string;
  suggested_fix: string;
  confidence: number;
  automation_possible: boolean;
  automation_action: string | null;
  created_by: string;
}

interface RuleBase {
  id: string;
  alert: AlertTemplate;
  dedupBy: readonly KeyField[];
  cooldownMs: number;
}

export interface MatchRule extends RuleBase {
  type: 'match';
  when: CompiledLogFilter;
}

export interface ThresholdRule extends RuleBase {
  type: 'threshold';
  when: CompiledLogFilter;
  scope: CompiledLogFilter;
  metric: 'count' | 'rate' | 'ratio';
  above: number;
  windowMs: number;
  /** Counts are kept in buckets of this size; the window slides by whole buckets. */
  bucketMs: number;
  groupBy: readonly KeyField[];
  minTotal: number;
}

export interface TraceRule extends RuleBase {
  type: 'trace';
  when: z.output<typeof TraceFilterSchema>;
}

export type AlertRule = MatchRule | ThresholdRule | TraceRule;

/** Validated, compiled rules, grouped by what they consume. */
export interface AlertRules {
  logRules: readonly (MatchRule | ThresholdRule)[];
  traceRules: readonly TraceRule[];
  byId: ReadonlyMap<string, AlertRule>;
}

export const LEVEL_ORDER: Record<Level, number> = {
  unspecified: 0,
  trace: 1,
  debug: 2,
  info: 3,
  warn: 4,
  error: 5,
  fatal: 6,
};

function ruleLabel(raw: unknown, index: number): string {
  const id = (raw as { id?: unknown } | null)?.id;
  return typeof id === 'string' ? `rule "${id}" (#${index})` : `rule #${index}`;
}

function regex(source: string, where: string): RegExp {
  try {
    return new RegExp(source, 'i');
  } catch (cause) {
    throw new AlertRulesError(`${where}: invalid regex: ${(cause as Error).message}`, { cause });
  }
}

function compileFilter(filter: LogFilterInput, where: string): CompiledLogFilter {
  return {
    levels: filter.level ? new Set(filter.level) : undefined,
    minLevel: filter.min_level === undefined ? undefined : LEVEL_ORDER[filter.min_level],
    service: filter.service ? new Set(filter.service) : undefined,
    env: filter.env ? new Set(filter.env) : undefined,
    errorCode: filter.error_code ? new Set(filter.error_code) : undefined,
    body: filter.body === undefined ? undefined : regex(filter.body, `${where}.body`),
    attributes: Object.entries(filter.attributes ?? {}).map(
      ([key, source]) => [key, regex(source, `${where}.attributes.${key}`)] as const,
    ),
  };
}

function compileRule(rule: RuleInput, label: string): AlertRule {
  const base = { id: rule.id, alert: rule.alert, cooldownMs: rule.dedup.cooldown_seconds * 1000 };
  switch (rule.type) {
    case 'match':
      return {
        ...base,
        type: 'match',
        dedupBy: rule.dedup.by ?? ['service'],
        when: compileFilter(rule.when, `${label}: when`),
      };
    case 'threshold': {
      const windowMs = rule.window_seconds * 1000;
      return {
        ...base,
        type: 'threshold',
        dedupBy: rule.dedup.by ?? rule.group_by,
        when: compileFilter(rule.when, `${label}: when`),
        scope: compileFilter(rule.scope, `${label}: scope`),
        metric: rule.metric,
        above: rule.above,
        windowMs,
        bucketMs: Math.max(1000, Math.floor(windowMs / 10)),
        groupBy: rule.group_by,
        minTotal: rule.min_total,
      };
    }
    case 'trace':
      return { ...base, type: 'trace', dedupBy: ['trace_id'], when: rule.when };
  }
}

/**
 * Validates and compiles a parsed rules file.
 * @throws AlertRulesError naming the rule (id and position) and the field at fault
 */
export function parseAlertRules(input: unknown): AlertRules {
  const parsed = AlertRulesFileSchema.safeParse(input);
  if (!parsed.success) {
    const rawRules = (input as { rules?: unknown } | null)?.rules;
    const messages = parsed.error.issues.map((issue) => {
      const [head, index, ...rest] = issue.path;
      if (head === 'rules' && typeof index === 'number' && Array.isArray(rawRules)) {
        const field = rest.length > 0 ? rest.join('.') : '(rule)';
        return `${ruleLabel(rawRules[index], index)}: ${field}: ${issue.message}`;
      }
      return `${issue.path.join('.') || '(file)'}: ${issue.message}`;
    });
    throw new AlertRulesError(`invalid alert rules: ${messages.join('; ')}`);
  }
  const byId = new Map<string, AlertRule>();
  const logRules: (MatchRule | ThresholdRule)[] = [];
  const traceRules: TraceRule[] = [];
  parsed.data.rules.forEach((raw, index) => {
    const label = ruleLabel(raw, index);
    if (byId.has(raw.id)) throw new AlertRulesError(`invalid alert rules: ${label}: id: duplicate rule id`);
    const rule = compileRule(raw, label);
    byId.set(rule.id, rule);
    if (!raw.enabled) return;
    if (rule.type === 'trace') traceRules.push(rule);
    else logRules.push(rule);
  });
  return { logRules, traceRules, byId };
}

/** Parses the text of a rules file. @throws AlertRulesError for invalid JSON or rules */
export function parseAlertRulesText(text: string): AlertRules {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new AlertRulesError(`invalid alert rules: not JSON: ${(cause as Error).message}`, { cause });
  }
  return parseAlertRules(json);
}
