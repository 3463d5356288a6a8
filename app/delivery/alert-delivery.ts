import { setTimeout as delay } from 'node:timers/promises';
import { backOff } from 'exponential-backoff';
import type { Consumer, EachMessagePayload, Kafka } from 'kafkajs';
import { StackLensError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import {
  deliveryKey,
  doneEntry,
  nextStep,
  pendingEntry,
  routeAlert,
  traceLink,
  type AlertLinks,
  type DeliveryRules,
  type DeliveryStep,
  type Receiver,
} from '../../processors/delivery';
import type { Alert } from '../../processors/records';
import { ReceiverRequestError } from '../../sinks/delivery/http';
import {
  addJiraComment,
  createJiraIssue,
  findJiraIssue,
  hasJiraComment,
  postAlert,
} from '../../sinks/delivery/receiver-client';
import type { DeadLetterWriter } from '../../sinks/delivery/dead-letters';
import { DeliveryStateWriteError, type DeliveryStateStore } from '../../sinks/delivery/state-store';
import type { Serde } from '../../topology';
import type { DeliveryMetrics } from './delivery-metrics';
import { OffsetTracker } from './offset-tracker';

export interface AlertDeliveryOptions {
  kafka: Kafka;
  /** Its own consumer group, so delivery never holds back the pipeline's. */
  groupId: string;
  alertsTopic: string;
  alertSerde: Serde<Alert>;
  rules: DeliveryRules;
  /** Base URL of the StackLens API, for trace links. */
  linkBaseUrl: string;
  state: DeliveryStateStore;
  deadLetters: DeadLetterWriter;
  metrics: DeliveryMetrics;
  logger: Logger;
  /** How often finished offsets are committed. */
  commitIntervalMs: number;
  /** Alerts whose created_at is older than this when read are not delivered. */
  maxAlertAgeMs: number;
  /** Deliveries open at once (all receivers); reading pauses beyond. */
  maxOpen?: number;
}

const DEFAULT_MAX_OPEN = 1_000;
/**
 * Shorter than kafkajs's 30 s: after a crash the restarted process waits for the dead member's session
 * to expire before it gets the partitions back, and delivery has no long-running message handling.
 */
const SESSION_TIMEOUT_MS = 10_000;
/** How long a stop waits for deliveries in progress (within `stacklens run`'s 15 s shutdown deadline). */
const STOP_WAIT_MS = 5_000;

/**
 * Reads `stacklens-alerts` and delivers each alert to the receivers its routes name, once per
 * (receiver, alert id), however often the alert is read (restarts, replays, republished alerts).
 *
 * Each receiver has its own queue, so a slow or failing receiver delays only its own deliveries; alerts
 * reach one receiver in topic order (a Jira comment comes after its issue). Offsets are committed up to
 * the oldest alert with a delivery still open (OffsetTracker). Every request is bracketed by two state
 * writes (delivery-state.ts): the intent before, the outcome after; the consumer commit comes later still,
 * and an alert read again after a crash is decided by its entry, not by the commit.
 */
export class AlertDelivery {
  /** Settles when delivery stops: rejects when it cannot go on (its state cannot be written). */
  readonly done: Promise<void>;
  private resolveDone: () => void = () => undefined;
  private rejectDone: (err: unknown) => void = () => undefined;
  private readonly consumer: Consumer;
  private readonly tracker = new OffsetTracker();
  /** The tail of each receiver's queue. */
  private readonly queues = new Map<string, Promise<void>>();
  private readonly queued = new Map<string, number>();
  private readonly finishedWaiters: (() => void)[] = [];
  private commitTimer: NodeJS.Timeout | undefined;
  private commitRunning: Promise<void> = Promise.resolve();
  private stopping = false;
  private failed = false;
  /** Assignments so far, and the one the state was last caught up for: after each, read what other instances recorded. */
  private joins = 0;
  private caughtUpFor = -1;
  private readonly log: Logger;

  constructor(private readonly options: AlertDeliveryOptions) {
    this.log = options.logger.child({ component: 'delivery' });
    this.done = new Promise((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.done.catch(() => undefined);
    this.consumer = options.kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: SESSION_TIMEOUT_MS,
      heartbeatInterval: 2_000,
      maxWaitTimeInMs: 1_000,
      readUncommitted: false,
    });
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [this.options.alertsTopic], fromBeginning: true });
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => {
      this.joins += 1;
      this.log.info({ assigned: e.payload.memberAssignment }, 'delivery partitions assigned');
    });
    await this.consumer.run({ autoCommit: false, eachMessage: (payload) => this.onMessage(payload) });
    this.commitTimer = setInterval(() => void this.commit(), this.options.commitIntervalMs);
    this.log.info(
      {
        group: this.options.groupId,
        topic: this.options.alertsTopic,
        receivers: [...this.options.rules.receivers.keys()],
      },
      'alert delivery started',
    );
  }

  /**
   * Stops reading, lets the deliveries in progress finish their current attempt (a retry wait is cut
   * short and the delivery left for the next start), commits, and disconnects.
   */
  async stop(): Promise<void> {
    if (this.stopping) return this.done.catch(() => undefined);
    this.stopping = true;
    clearInterval(this.commitTimer);
    await this.consumer.stop();
    // A delivery waiting out a retry delay (up to max_delay_ms) is not waited for: it stays recorded as
    // started, and the next start resumes it (as in doubt, under the same Idempotency-Key).
    await Promise.race([Promise.all([...this.queues.values()]), delay(STOP_WAIT_MS)]);
    await this.commit();
    await this.consumer.disconnect();
    this.resolveDone();
  }

  private async onMessage({ partition, message, heartbeat }: EachMessagePayload): Promise<void> {
    const maxOpen = this.options.maxOpen ?? DEFAULT_MAX_OPEN;
    while (this.tracker.open >= maxOpen && !this.stopping) {
      await Promise.race([new Promise<void>((resolve) => this.finishedWaiters.push(resolve)), delay(1_000)]);
      await heartbeat();
    }
    if (this.stopping || this.failed) return;
    if (this.caughtUpFor !== this.joins) {
      // A partition's previous owner may have delivered alerts it did not commit: see its entries first.
      // Jobs of this process still running only write entries newer than what is read here.
      const join = this.joins;
      await this.options.state.catchUp();
      this.caughtUpFor = join;
    }
    let alert: Alert | null;
    try {
      alert = this.options.alertSerde.deserialize(message.value);
    } catch (err) {
      const reason = err instanceof StackLensError ? err.message : `cannot decode the alert: ${String(err)}`;
      this.log.error({ partition, offset: message.offset, reason }, 'undecodable alert dead-lettered');
      await this.options.deadLetters.undecodable(
        {
          topic: this.options.alertsTopic,
          partition,
          offset: message.offset,
          key: message.key,
          value: message.value,
        },
        reason,
      );
      this.options.metrics.undecodable.inc();
      this.tracker.add(partition, message.offset, 0);
      return;
    }
    const receivers =
      alert === null
        ? []
        : routeAlert(this.options.rules, alert).map((name) => this.options.rules.receivers.get(name)!);
    const readAt = Date.now();
    if (alert !== null && isTooOld(alert, readAt, this.options.maxAlertAgeMs)) {
      for (const receiver of receivers)
        this.options.metrics.skipped.inc({ receiver: receiver.name, reason: 'too_old' });
      this.tracker.add(partition, message.offset, 0);
      return;
    }
    this.tracker.add(partition, message.offset, receivers.length);
    for (const receiver of receivers) {
      this.enqueue(receiver.name, async () => {
        try {
          await this.deliver(receiver, alert!, readAt);
        } finally {
          this.tracker.complete(partition, message.offset);
          for (const wake of this.finishedWaiters.splice(0)) wake();
        }
      });
    }
  }

  private enqueue(receiver: string, job: () => Promise<void>): void {
    const gauge = this.options.metrics.queued;
    this.queued.set(receiver, (this.queued.get(receiver) ?? 0) + 1);
    gauge.set({ receiver }, this.queued.get(receiver)!);
    const tail = (this.queues.get(receiver) ?? Promise.resolve())
      .then(() => (this.failed || this.stopping ? undefined : job()))
      .catch((err: unknown) => this.fail(err))
      .finally(() => {
        this.queued.set(receiver, this.queued.get(receiver)! - 1);
        gauge.set({ receiver }, this.queued.get(receiver)!);
      });
    this.queues.set(receiver, tail);
  }

  /** One alert to one receiver, decided by (and recorded in) the delivery state. Rejects only when the state cannot be written. */
  private async deliver(receiver: Receiver, alert: Alert, readAt: number): Promise<void> {
    const { state, metrics } = this.options;
    const labels = { receiver: receiver.name };
    const key = deliveryKey(receiver.name, alert.id);
    const step = nextStep(receiver.kind, state.get(key), alert);
    if (step.action === 'skip') {
      metrics.skipped.inc({ ...labels, reason: step.reason });
      return;
    }
    if (step.inDoubt) {
      metrics.inDoubt.inc(labels);
      this.log.warn(
        { receiver: receiver.name, alertId: alert.id, step: step.action },
        'a previous process stopped in the middle of this delivery: resuming it',
      );
    }
    const pending = pendingEntry(step, alert, new Date());
    await state.put(key, pending);
    const links: AlertLinks = { traceUrl: traceLink(this.options.linkBaseUrl, alert) };
    let attempts = 0;
    let lastError: unknown;
    try {
      const issueKey = await backOff(
        async () => {
          // A stop began during the retry delay: no new request; the failure stands (and is retryable).
          if (this.stopping && attempts > 0) throw lastError;
          attempts += 1;
          try {
            return await perform(receiver, step, alert, links, step.inDoubt || attempts > 1);
          } catch (err) {
            metrics.failed.inc(labels);
            lastError = err;
            throw err;
          }
        },
        {
          numOfAttempts: receiver.retry.attempts,
          startingDelay: receiver.retry.initialDelayMs,
          maxDelay: receiver.retry.maxDelayMs,
          timeMultiple: 2,
          jitter: 'full',
          retry: (err: unknown) => {
            if (this.stopping || !(err instanceof ReceiverRequestError) || !err.retryable) return false;
            // exponential-backoff asks after the last attempt too: that is no retry.
            if (attempts >= receiver.retry.attempts) return false;
            metrics.retried.inc(labels);
            this.log.warn(
              { receiver: receiver.name, alertId: alert.id, attempt: attempts, reason: err.message },
              'delivery failed: retrying',
            );
            return true;
          },
        },
      );
      await state.put(key, doneEntry(pending, 'delivered', new Date(), issueKey));
      metrics.delivered.inc({ ...labels, step: step.action });
      metrics.latency.observe(labels, (Date.now() - readAt) / 1_000);
      this.log.info(
        { receiver: receiver.name, alertId: alert.id, step: step.action, issueKey, attempts },
        'alert delivered',
      );
    } catch (err) {
      if (err instanceof DeliveryStateWriteError) throw err;
      if (this.stopping && err instanceof ReceiverRequestError && err.retryable) {
        this.log.info(
          { receiver: receiver.name, alertId: alert.id },
          'stopping: delivery left for the next start',
        );
        return;
      }
      const reason =
        err instanceof StackLensError ? err.message : `receiver ${receiver.name}: ${String(err)}`;
      await this.options.deadLetters.deliveryFailed(
        { receiver: receiver.name, alert, step: step.action, attempts, reason },
        new Date(),
      );
      await state.put(key, doneEntry(pending, 'dead_lettered', new Date()));
      metrics.deadLettered.inc(labels);
      this.log.error(
        { receiver: receiver.name, alertId: alert.id, attempts, reason },
        'delivery dead-lettered',
      );
    }
  }

  private async commit(): Promise<void> {
    const run = this.commitRunning.then(async () => {
      const positions = this.tracker.committable();
      if (positions.length === 0) return;
      try {
        await this.consumer.commitOffsets(positions.map((p) => ({ topic: this.options.alertsTopic, ...p })));
        this.tracker.committed(positions);
      } catch (err) {
        // A rebalance in progress refuses commits; the next interval commits the same positions.
        this.log.warn({ err }, 'delivery offsets not committed');
      }
    });
    this.commitRunning = run;
    return run;
  }

  private fail(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.log.fatal({ err }, 'alert delivery stopped: its state cannot be recorded');
    clearInterval(this.commitTimer);
    void this.consumer.disconnect().catch(() => undefined);
    this.rejectDone(err);
  }
}

/** created_at is event time: a replayed or backfilled alert keeps its original one. */
function isTooOld(alert: Alert, nowMs: number, maxAgeMs: number): boolean {
  const created = Date.parse(alert.created_at);
  return Number.isFinite(created) && nowMs - created > maxAgeMs;
}

/**
 * The request(s) of one step. `lookFirst`: an earlier attempt (in this process or one that crashed) may
 * have reached Jira without its answer arriving, so find its issue or comment before making another.
 * Resolves to the Jira issue key (null for webhook and Slack).
 */
async function perform(
  receiver: Receiver,
  step: Exclude<DeliveryStep, { action: 'skip' }>,
  alert: Alert,
  links: AlertLinks,
  lookFirst: boolean,
): Promise<string | null> {
  if (receiver.kind !== 'jira') {
    await postAlert(receiver, alert, links);
    return null;
  }
  if (step.action === 'comment') {
    if (!lookFirst || !(await hasJiraComment(receiver, step.issueKey, alert)))
      await addJiraComment(receiver, step.issueKey, alert, links);
    return step.issueKey;
  }
  const found = lookFirst ? await findJiraIssue(receiver, alert.id) : null;
  return found ?? (await createJiraIssue(receiver, alert, links));
}
