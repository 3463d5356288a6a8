import { z } from 'zod';
import type { Alert } from '../records';
import { DeliveryStateError } from './errors';
import type { Receiver } from './receivers';

/**
 * What has been delivered, per (receiver, alert id): the record the delivery process writes before and
 * after each HTTP call, and the decision it takes from it. Pure; the topic that keeps it is
 * sinks/delivery/state-store.ts.
 *
 * Two writes per call make a crash visible: `pending` (the intent, written before the request) and `done`
 * (after the receiver answered, or after the delivery was dead-lettered). An alert found `done` is never
 * sent again; one found `pending` is in doubt (the process died between the two writes, so the receiver
 * may or may not have it) and is resolved per receiver by `nextStep`.
 */

export type DeliveryStepKind = 'send' | 'create' | 'comment';

export interface DeliveryEntry {
  status: 'pending' | 'done';
  /** pending: the alert version (count) being delivered; done: the last version handled. */
  count: number;
  /** The step `pending` announced, or the last one `done` finished. */
  step: DeliveryStepKind;
  /** done: whether the receiver got it, or it went to the dead-letter topic. */
  outcome: 'delivered' | 'dead_lettered' | null;
  /** Jira: the key of the issue created for the alert. */
  issue_key: string | null;
  updated_at: string;
}

const EntrySchema = z
  .object({
    status: z.enum(['pending', 'done']),
    count: z.number().int().nonnegative(),
    step: z.enum(['send', 'create', 'comment']),
    outcome: z.enum(['delivered', 'dead_lettered']).nullable(),
    issue_key: z.string().min(1).max(100).nullable(),
    updated_at: z.string(),
  })
  .strict();

/** The state topic's key: receiver names cannot contain '/', so the key splits back unambiguously. */
export function deliveryKey(receiver: string, alertId: string): string {
  return `${receiver}/${alertId}`;
}

export function encodeEntry(entry: DeliveryEntry): Buffer {
  return Buffer.from(JSON.stringify(entry));
}

/** @throws DeliveryStateError when the bytes are not an entry this version writes */
export function decodeEntry(key: string, value: Buffer): DeliveryEntry {
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch (cause) {
    throw new DeliveryStateError(`delivery state ${key} is not JSON`, { cause });
  }
  const parsed = EntrySchema.safeParse(json);
  if (!parsed.success)
    throw new DeliveryStateError(`delivery state ${key} is not a delivery entry: ${parsed.error.message}`);
  return parsed.data;
}

export type DeliveryStep =
  | { action: 'skip'; reason: 'delivered' | 'dead_lettered' | 'not_newer' }
  | { action: 'send'; inDoubt: boolean }
  | { action: 'create'; inDoubt: boolean }
  | { action: 'comment'; issueKey: string; inDoubt: boolean };

/**
 * What to do with `alert` for a receiver of `kind`, given what its entry says.
 * - webhook, Slack: one request per alert id, whatever its later versions; an entry in doubt is sent again
 *   (same Idempotency-Key: a receiver that dedupes on it sees one delivery; Slack cannot, so a crash in the
 *   window between request and `done` may post twice there: at least once).
 * - Jira: one issue per alert id; a later version (a higher count: the pipeline re-emits an alert with its
 *   final count when its window closes) becomes a comment on that issue. A create or comment in doubt
 *   is looked up in Jira (by label, by marker) before it is made again.
 */
export function nextStep(
  kind: Receiver['kind'],
  entry: DeliveryEntry | undefined,
  alert: Alert,
): DeliveryStep {
  if (kind !== 'jira') {
    if (entry === undefined) return { action: 'send', inDoubt: false };
    if (entry.status === 'pending') return { action: 'send', inDoubt: true };
    return { action: 'skip', reason: entry.outcome === 'dead_lettered' ? 'dead_lettered' : 'delivered' };
  }
  if (entry === undefined) return { action: 'create', inDoubt: false };
  if (entry.issue_key === null) {
    if (entry.status === 'pending') return { action: 'create', inDoubt: true };
    return { action: 'skip', reason: entry.outcome === 'dead_lettered' ? 'dead_lettered' : 'delivered' };
  }
  if (entry.status === 'pending' && alert.count === entry.count)
    return { action: 'comment', issueKey: entry.issue_key, inDoubt: true };
  if (alert.count > entry.count) return { action: 'comment', issueKey: entry.issue_key, inDoubt: false };
  return { action: 'skip', reason: entry.status === 'pending' ? 'not_newer' : 'delivered' };
}

/** The intent written before a step's request. */
export function pendingEntry(
  step: Exclude<DeliveryStep, { action: 'skip' }>,
  alert: Alert,
  now: Date,
): DeliveryEntry {
  return {
    status: 'pending',
    count: alert.count,
    step: step.action,
    outcome: null,
    issue_key: step.action === 'comment' ? step.issueKey : null,
    updated_at: now.toISOString(),
  };
}

/** The record written once a step is finished: delivered (with the Jira issue key) or dead-lettered. */
export function doneEntry(
  pending: DeliveryEntry,
  outcome: 'delivered' | 'dead_lettered',
  now: Date,
  issueKey: string | null = pending.issue_key,
): DeliveryEntry {
  return { ...pending, status: 'done', outcome, issue_key: issueKey, updated_at: now.toISOString() };
}
