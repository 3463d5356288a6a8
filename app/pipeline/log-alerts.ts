import {
  applyCounts,
  applyFlush,
  applyLog,
  initialAlertState,
  isAlertCounts,
  type AlertRules,
  type AlertState,
  type LogRuleInput,
} from '../../processors/alerts';
import type { Alert } from '../../processors/records';
import type { KeyValueStore, Processor, ProcessorContext, StreamRecord } from '../../topology';

export const LOG_ALERT_STATE_STORE = 'log-alert-state';

/**
 * Runs the match and threshold rules over logs keyed by service (each log that may raise an alert,
 * and summaries of the others: processors/alerts/counts.ts), so that each service's counters
 * and dedup state live in exactly one task. The state is kept per service in a changelogged store;
 * as stream time advances, `applyFlush` closes dedup windows and re-emits an alert with its final
 * count (same id, so consumers upsert).
 *
 * A service's state is changed in place (applyLog), so a log costs what the rules do, not what the
 * state holds; putting the same object back marks it changed, and the store serializes it once per commit.
 */
export class LogAlertRules implements Processor<string, LogRuleInput, string, Alert> {
  private context!: ProcessorContext<string, Alert>;
  private store!: KeyValueStore<string, AlertState>;

  constructor(
    private readonly rules: AlertRules,
    private readonly flushIntervalMs: number,
  ) {}

  init(context: ProcessorContext<string, Alert>): void {
    this.context = context;
    this.store = context.keyValueStore<string, AlertState>(LOG_ALERT_STATE_STORE);
    context.schedule(this.flushIntervalMs, 'stream-time', (now) => this.flush(now));
  }

  process(record: StreamRecord<string, LogRuleInput>): void {
    const state = this.store.get(record.key) ?? initialAlertState();
    const alerts: Alert[] = [];
    const input = record.value;
    const changed = isAlertCounts(input)
      ? applyCounts(this.rules, state, input.counts)
      : applyLog(this.rules, state, input, alerts);
    if (changed) this.store.put(record.key, state);
    for (const alert of alerts) this.emit(alert, record.timestamp);
  }

  private flush(streamTime: number): void {
    for (const [service, state] of this.store.entries()) {
      const alerts: Alert[] = [];
      // Nothing closed: no changelog write.
      if (applyFlush(this.rules, state, alerts, streamTime)) this.store.put(service, state);
      for (const alert of alerts) this.emit(alert, streamTime);
    }
  }

  private emit(alert: Alert, timestamp: number): void {
    this.context.forward({ key: alert.id, value: alert, timestamp, headers: {}, ...this.context.position() });
  }
}
