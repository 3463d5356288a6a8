import { createHash } from 'node:crypto';
import { StackLensError } from '../../common/errors';
import { PRODUCT_TOPICS } from '../../sinks/kafka/topics';
import type { BoundPosition } from '../../topology';

/** A replay option's value cannot be used; the message names the option. */
export class ReplayArgumentError extends StackLensError {}

export type ReplaySignal = 'logs' | 'traces';

/** What `stacklens replay` was asked to do, validated. */
export interface ReplayRequest {
  /** Which input topics (unprefixed names `otel-logs`, `otel-traces`) as signals. */
  readonly signals: readonly ReplaySignal[];
  /** Inclusive start; undefined: the beginning. */
  readonly from?: BoundPosition;
  /** Exclusive end; undefined: the high watermark at start (topics) or everything (archive). */
  readonly to?: BoundPosition;
  /** Publish re-derived alerts to stacklens-alerts too (a backfill). */
  readonly alerts: boolean;
  /** Read the archive instead of the topics. */
  readonly archive: boolean;
  /** With `archive`: produce the archived requests back to the input topics. */
  readonly toTopics: boolean;
}

const SIGNAL_OF_TOPIC: Record<string, ReplaySignal> = {
  [PRODUCT_TOPICS.otelLogs]: 'logs',
  [PRODUCT_TOPICS.otelTraces]: 'traces',
};

// RFC 3339 date-time: full date, 'T' (or space, as RFC 3339 allows), time with optional fraction,
// and a mandatory zone (Z or ±hh:mm) — a time without zone would depend on the machine's.
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const OFFSET = /^(0|[1-9]\d{0,18})$/;

/** `--from`/`--to`: an RFC 3339 time (with zone) or a Kafka offset (applies to every partition). */
export function parsePosition(option: string, value: string): BoundPosition {
  const text = value.trim();
  if (OFFSET.test(text)) return { offset: BigInt(text) };
  if (RFC3339.test(text)) {
    const ms = Date.parse(text.replace(' ', 'T'));
    if (Number.isFinite(ms)) return { timestampMs: ms };
  }
  throw new ReplayArgumentError(
    `${option} ${JSON.stringify(value)}: expected an RFC 3339 time with a zone (2026-11-22T08:00:00Z) or an offset (a non-negative integer)`,
  );
}

/** `--topic otel-logs,otel-traces`: the input topics to replay, unprefixed. */
export function parseTopics(option: string, value: string): ReplaySignal[] {
  const names = value
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  if (names.length === 0) throw new ReplayArgumentError(`${option}: name at least one topic`);
  const signals = new Set<ReplaySignal>();
  for (const name of names) {
    const signal = SIGNAL_OF_TOPIC[name];
    if (signal === undefined) {
      throw new ReplayArgumentError(
        `${option} ${JSON.stringify(name)}: expected ${Object.keys(SIGNAL_OF_TOPIC).join(' or ')} (without TOPIC_PREFIX)`,
      );
    }
    signals.add(signal);
  }
  return (['logs', 'traces'] as const).filter((s) => signals.has(s));
}

export interface ReplayOptionValues {
  topic?: string;
  from?: string;
  to?: string;
  alerts?: boolean;
  archive?: boolean;
  toTopics?: boolean;
}

/** Validates the options together: what each needs, and a range that is not empty by construction. */
export function parseReplayRequest(values: ReplayOptionValues): ReplayRequest {
  const archive = values.archive === true;
  const toTopics = values.toTopics === true;
  if (toTopics && !archive) throw new ReplayArgumentError('--to-topics: only with --archive');
  if (!archive && values.from === undefined) {
    throw new ReplayArgumentError('--from: required when replaying topics (an RFC 3339 time or an offset)');
  }
  const signals =
    values.topic === undefined ? (['logs', 'traces'] as const) : parseTopics('--topic', values.topic);
  const from = values.from === undefined ? undefined : parsePosition('--from', values.from);
  const to = values.to === undefined ? undefined : parsePosition('--to', values.to);
  if (archive && (isOffset(from) || isOffset(to))) {
    throw new ReplayArgumentError(
      `${isOffset(from) ? '--from' : '--to'}: the archive is replayed by time, give an RFC 3339 time`,
    );
  }
  if (from !== undefined && to !== undefined) {
    const empty =
      'offset' in from && 'offset' in to
        ? to.offset <= from.offset
        : 'timestampMs' in from && 'timestampMs' in to && to.timestampMs <= from.timestampMs;
    if (empty) throw new ReplayArgumentError('--to: must be after --from (the range is [from, to))');
  }
  return { signals, from, to, alerts: values.alerts === true, archive, toTopics };
}

function isOffset(position: BoundPosition | undefined): boolean {
  return position !== undefined && 'offset' in position;
}

/**
 * The replay's id: a digest of what defines its range, so running the same command again finds the
 * same consumer group (and internal topics, state) and resumes instead of starting over. `--alerts`
 * is part of it: a backfill that publishes alerts is a different run from one that does not.
 */
export function replayId(request: ReplayRequest): string {
  const position = (p: BoundPosition | undefined): string | null =>
    p === undefined ? null : 'offset' in p ? `offset:${p.offset}` : `time:${p.timestampMs}`;
  const canonical = JSON.stringify({
    signals: request.signals,
    from: position(request.from),
    to: position(request.to),
    alerts: request.alerts,
    archive: request.archive,
    toTopics: request.toTopics,
  });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 12);
}

/** The replay's application id: its consumer group and the prefix of its internal topics. */
export function replayApplicationId(applicationId: string, id: string): string {
  return `${applicationId}-replay-${id}`;
}
