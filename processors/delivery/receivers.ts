import { z } from 'zod';
import { DeliveryRulesError } from './errors';

/**
 * The `receivers:` and `routes:` sections of the alert rules file: where alerts are delivered. Secrets are
 * never written in the file; it names the environment variables that hold them (`*_env`), resolved once at
 * start by `compileDelivery`, which names every variable that is missing.
 */

const name = z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/, 'use 1-100 letters, digits, ".", "_" or "-"');
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'must be an environment variable name');
const httpUrl = z
  .string()
  .refine((v) => /^https?:\/\/[^\s/]+/.test(v) && URL.canParse(v), { message: 'must be an http(s) URL' });

const RetrySchema = z
  .object({
    /** Attempts in all (the first included) before the delivery is dead-lettered. */
    attempts: z.number().int().min(1).max(20).default(6),
    /** Delay before the second attempt; each later one doubles it (with full jitter), up to max_delay_ms. */
    initial_delay_ms: z.number().int().min(1).max(600_000).default(500),
    max_delay_ms: z.number().int().min(1).max(3_600_000).default(30_000),
  })
  .strict();

const common = {
  name,
  /** One HTTP request's time limit. */
  timeout_ms: z.number().int().min(100).max(120_000).default(10_000),
  retry: RetrySchema.default({ attempts: 6, initial_delay_ms: 500, max_delay_ms: 30_000 }),
};

/** Exactly one of `url` (not secret) and `url_env` (a variable holding it: Slack's URL is itself the secret). */
const urlFields = { url: httpUrl.optional(), url_env: envName.optional() };

const WebhookSchema = z
  .object({
    ...common,
    ...urlFields,
    type: z.literal('webhook'),
    /** Variable holding the HMAC-SHA256 key of the signature header. */
    secret_env: envName,
  })
  .strict();

const SlackSchema = z.object({ ...common, ...urlFields, type: z.literal('slack') }).strict();

const JiraSchema = z
  .object({
    ...common,
    type: z.literal('jira'),
    /** Base URL of the Jira site, e.g. https://acme.atlassian.net. */
    url: httpUrl,
    project_key: z.string().regex(/^[A-Z][A-Z0-9_]{0,49}$/, 'must be a Jira project key such as OPS'),
    issue_type: z.string().min(1).max(100).default('Bug'),
    /** Extra labels on created issues (Jira labels contain no spaces). */
    labels: z.array(z.string().regex(/^\S{1,100}$/, 'a Jira label has no spaces')).default([]),
    /** Basic auth (Jira Cloud: account e-mail and API token) or a bearer token (Data Center PAT). */
    auth: z.discriminatedUnion('type', [
      z.object({ type: z.literal('basic'), user_env: envName, token_env: envName }).strict(),
      z.object({ type: z.literal('bearer'), token_env: envName }).strict(),
    ]),
    /**
     * The JQL search resource used to find an issue whose creation is in doubt after a crash: Jira Cloud
     * serves `search/jql`, Jira Data Center `search`.
     */
    search_api: z.enum(['search/jql', 'search']).default('search/jql'),
    /** REST API version: 2 (descriptions and comments in wiki markup) or 3 (Atlassian Document Format). */
    api_version: z.union([z.literal(2), z.literal(3)]).default(2),
  })
  .strict();

export const ReceiverSchema = z.discriminatedUnion('type', [WebhookSchema, SlackSchema, JiraSchema]);

const SEVERITIES = ['info', 'warn', 'error'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const RouteSchema = z
  .object({
    /** Receivers (by name) of the alerts this route matches. */
    receivers: z.array(name).min(1),
    /** Each condition given must hold; a route without conditions matches every alert. */
    severity: z.array(z.enum(SEVERITIES)).min(1).optional(),
    min_severity: z.enum(SEVERITIES).optional(),
    service: z.array(z.string().min(1)).min(1).optional(),
    issue_code: z.array(z.string().min(1)).min(1).optional(),
  })
  .strict();

/** The rules-file sections; absent means no delivery (the rules file stays valid without them). */
export const DeliverySectionsSchema = {
  receivers: z.array(ReceiverSchema).default([]),
  routes: z.array(RouteSchema).default([]),
};

export interface RetryPolicy {
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

interface ReceiverBase {
  name: string;
  timeoutMs: number;
  retry: RetryPolicy;
}

export interface WebhookReceiver extends ReceiverBase {
  kind: 'webhook';
  url: string;
  secret: string;
}

export interface SlackReceiver extends ReceiverBase {
  kind: 'slack';
  url: string;
}

export interface JiraReceiver extends ReceiverBase {
  kind: 'jira';
  baseUrl: string;
  projectKey: string;
  issueType: string;
  labels: readonly string[];
  /** The Authorization header's value. */
  authorization: string;
  searchApi: 'search/jql' | 'search';
  apiVersion: 2 | 3;
}

export type Receiver = WebhookReceiver | SlackReceiver | JiraReceiver;

export interface Route {
  receivers: readonly string[];
  severity: ReadonlySet<Severity> | undefined;
  minSeverity: Severity | undefined;
  service: ReadonlySet<string> | undefined;
  issueCode: ReadonlySet<string> | undefined;
}

/** Receivers with their secrets resolved, and the routes to them. */
export interface DeliveryRules {
  receivers: ReadonlyMap<string, Receiver>;
  routes: readonly Route[];
}

type ReceiverInput = z.output<typeof ReceiverSchema>;
type Env = Readonly<Record<string, string | undefined>>;

/**
 * Resolves the receivers' secrets from `env` and checks the routes' receiver names.
 * @throws DeliveryRulesError naming every missing variable, unknown receiver or duplicate name at once
 */
export function compileDelivery(
  sections: { receivers: readonly ReceiverInput[]; routes: readonly z.output<typeof RouteSchema>[] },
  env: Env,
): DeliveryRules {
  const problems: string[] = [];
  const receivers = new Map<string, Receiver>();
  const read = (receiver: string, field: string, variable: string): string => {
    const value = env[variable];
    if (value === undefined || value.trim() === '') {
      problems.push(`receiver "${receiver}": ${field}: environment variable ${variable} is not set`);
      return '';
    }
    return value.trim();
  };
  const names = new Set<string>();
  for (const raw of sections.receivers) {
    if (names.has(raw.name)) problems.push(`receiver "${raw.name}": duplicate receiver name`);
    names.add(raw.name);
    const compiled = compileReceiver(raw, read, problems);
    if (compiled !== undefined) receivers.set(raw.name, compiled);
  }
  sections.routes.forEach((route, index) => {
    for (const receiver of route.receivers)
      if (!names.has(receiver))
        problems.push(`routes #${index}: receivers: no receiver is named "${receiver}"`);
  });
  if (problems.length > 0) throw new DeliveryRulesError(`invalid alert delivery: ${problems.join('; ')}`);
  return {
    receivers,
    routes: sections.routes.map((r) => ({
      receivers: [...new Set(r.receivers)],
      severity: r.severity ? new Set(r.severity) : undefined,
      minSeverity: r.min_severity,
      service: r.service ? new Set(r.service) : undefined,
      issueCode: r.issue_code ? new Set(r.issue_code) : undefined,
    })),
  };
}

function compileReceiver(
  raw: ReceiverInput,
  read: (receiver: string, field: string, variable: string) => string,
  problems: string[],
): Receiver | undefined {
  const base: ReceiverBase = {
    name: raw.name,
    timeoutMs: raw.timeout_ms,
    retry: {
      attempts: raw.retry.attempts,
      initialDelayMs: raw.retry.initial_delay_ms,
      maxDelayMs: Math.max(raw.retry.max_delay_ms, raw.retry.initial_delay_ms),
    },
  };
  switch (raw.type) {
    case 'webhook':
    case 'slack': {
      if ((raw.url === undefined) === (raw.url_env === undefined)) {
        problems.push(`receiver "${raw.name}": set exactly one of url and url_env`);
        return undefined;
      }
      const url = raw.url ?? read(raw.name, 'url_env', raw.url_env!);
      if (url !== '' && !(/^https?:\/\//.test(url) && URL.canParse(url))) {
        // The value is a secret: name the variable, never print it.
        problems.push(`receiver "${raw.name}": url_env: ${raw.url_env} does not hold an http(s) URL`);
      }
      if (raw.type === 'slack') return { ...base, kind: 'slack', url };
      return { ...base, kind: 'webhook', url, secret: read(raw.name, 'secret_env', raw.secret_env) };
    }
    case 'jira': {
      const authorization =
        raw.auth.type === 'basic'
          ? `Basic ${Buffer.from(
              `${read(raw.name, 'auth.user_env', raw.auth.user_env)}:${read(raw.name, 'auth.token_env', raw.auth.token_env)}`,
            ).toString('base64')}`
          : `Bearer ${read(raw.name, 'auth.token_env', raw.auth.token_env)}`;
      return {
        ...base,
        kind: 'jira',
        baseUrl: raw.url.replace(/\/+$/, ''),
        projectKey: raw.project_key,
        issueType: raw.issue_type,
        labels: raw.labels,
        authorization,
        searchApi: raw.search_api,
        apiVersion: raw.api_version,
      };
    }
  }
}
