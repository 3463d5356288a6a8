import {
  evaluateLog,
  flushAlerts,
  initialAlertState,
  type AlertRules,
  type AlertState,
} from '../../processors/alerts';
import type { Alert, LogRecord } from '../../processors/records';
import type { KeyValueStore, Processor, ProcessorContext, StreamRecord } from '../../topology';

export const LOG_ALERT_STATE_STORE = 'log-alert-state';

/**
 * Runs the match and threshold rules over logs keyed by service, so that each service's counters
 * and dedup state live in exactly one task. The state is kept per service in a changelogged store;
 * as stream time advances, `flushAlerts` closes dedup windows and re-emits an alert with its final
 * count (same id, so consumers upsert).
 */
export class LogAlertRules implements Processor<string, LogRecord, string, Alert> {
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

  process(record: StreamRecord<string, LogRecord>): void {
    const transition = evaluateLog(
      this.rules,
      this.store.get(record.key) ?? initialAlertState(),
      record.value,
    );
    this.store.put(record.key, transition.state);
    for (const alert of transition.alerts) this.emit(alert, record.timestamp);
  }

  private flush(streamTime: number): void {
    for (const [service, state] of this.store.entries()) {
      const transition = flushAlerts(this.rules, state, streamTime);
      // flushAlerts returns the same state object when nothing closed: skip the changelog write.
      if (transition.state !== state) this.store.put(service, transition.state);
      for (const alert of transition.alerts) this.emit(alert, streamTime);
    }
  }

  private emit(alert: Alert, timestamp: number): void {
    this.context.forward({ key: alert.id, value: alert, timestamp, headers: {}, ...this.context.position() });
  }
}
