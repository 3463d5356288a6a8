import {
  addLog,
  addSpan,
  createRecordPipeline,
  emptyCorrelation,
  evaluateCorrelation,
  evaluateLog,
  initialAlertState,
  type Alert,
  type AlertRules,
  type Correlation,
  type LogRecord,
  type MessageHeaders,
  type SpanRecord,
} from '../../processors';

/** Helpers of the demo producer tests: decode what the producers wrote, see which alert rules it fires. */

export interface LandedMessage {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: MessageHeaders;
}

export interface DecodedTelemetry {
  logs: LogRecord[];
  spans: SpanRecord[];
}

/**
 * Runs every message through the record pipeline (decode → normalize → redact → enrich) the way the
 * runtime does. Throws on a message that does not decode and on a record skipped inside a message.
 */
export function decodeLanded(messages: readonly LandedMessage[], logsTopic: string): DecodedTelemetry {
  const pipeline = createRecordPipeline();
  const out: DecodedTelemetry = { logs: [], spans: [] };
  for (const m of messages) {
    const result =
      m.topic === logsTopic
        ? pipeline.logs(m.value, m.headers, { topic: m.topic, partition: m.partition, offset: m.offset })
        : pipeline.spans(m.value, m.headers);
    if (result.errors.length > 0) {
      throw new Error(`${m.topic}@${m.offset}: skipped records ${JSON.stringify(result.errors)}`);
    }
    if (m.topic === logsTopic) out.logs.push(...(result.records as LogRecord[]));
    else out.spans.push(...(result.records as SpanRecord[]));
  }
  return out;
}

/** Folds spans and logs into one correlation per trace. */
export function correlate({ logs, spans }: DecodedTelemetry): Correlation[] {
  const byTrace = new Map<string, Correlation>();
  const get = (traceId: string) => byTrace.get(traceId) ?? emptyCorrelation(traceId);
  for (const span of spans) byTrace.set(span.trace_id, addSpan(get(span.trace_id), span));
  for (const log of logs) if (log.trace_id !== '') byTrace.set(log.trace_id, addLog(get(log.trace_id), log));
  return [...byTrace.values()];
}

/** The alerts the rules raise on this telemetry (logs in event-time order, then the finished traces). */
export function raisedAlerts(telemetry: DecodedTelemetry, rules: AlertRules): Alert[] {
  const raised: Alert[] = [];
  let state = initialAlertState();
  for (const log of [...telemetry.logs].sort((a, b) => a.time_ms - b.time_ms)) {
    const t = evaluateLog(rules, state, log);
    state = t.state;
    raised.push(...t.alerts);
  }
  for (const c of correlate(telemetry)) {
    const t = evaluateCorrelation(rules, state, c);
    state = t.state;
    raised.push(...t.alerts);
  }
  return raised;
}

/** Ids of the rules that alert on this telemetry. */
export function firedRuleIds(telemetry: DecodedTelemetry, rules: AlertRules): Set<string> {
  return new Set(raisedAlerts(telemetry, rules).map((alert) => alert.rule_id));
}
