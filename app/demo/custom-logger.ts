import type { LogContractRecord } from '../../processors/json-log/contract';
import { APP_VERSION, type TraceSummary } from './otlp-scenario';

/**
 * The seeds' "custom JSON logger": besides the OTLP batches the Collector exports, beorn writes one JSON
 * record in the log contract per Kafka message for each order it handles. It declares its encoding in a
 * `content-type` header (the Collector's Kafka exporter declares nothing; see demo-producers.ts).
 */
export const CUSTOM_LOGGER_HEADERS: Readonly<Record<string, string>> = { 'content-type': 'application/json' };

export interface CustomLogEntry {
  /** Event time in epoch ms (the record is due for sending once this time has passed). */
  timeMs: number;
  record: LogContractRecord;
}

/** Epoch ms as ISO-8601 with microseconds, the way Python loggers write it (…T10:30:45.123000Z). */
function isoMicros(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/**
 * beorn's order log for one generated trace, inside beorn's server span: an error with
 * `error_code: PAYMENT_FAILURE` when the trace's payment failed, an info record otherwise.
 */
export function orderLogEntry(trace: TraceSummary, env: string): CustomLogEntry {
  const timeMs = trace.startMs + 19;
  const paymentFailed = trace.failure === 'PAYMENT_FAILURE';
  const order = trace.attributes.request_id.slice(-4);
  return {
    timeMs,
    record: {
      timestamp: isoMicros(timeMs),
      service: 'beorn',
      level: paymentFailed ? 'error' : 'info',
      message: paymentFailed ? `Payment failed for order ${order}` : `Order ${order} created`,
      trace_id: trace.traceId,
      span_id: trace.spanIds.beorn,
      request_id: trace.attributes.request_id,
      ...(paymentFailed ? { error_code: 'PAYMENT_FAILURE' } : {}),
      user_id: trace.userId,
      product_id: trace.attributes.product_id,
      action: 'create_order',
      status: paymentFailed ? 'failure' : 'success',
      app_version: APP_VERSION,
      environment: env,
      method: 'POST',
      path: '/api/v1/orders',
      attrs: { workflow_id: trace.workflowId, circuit_id: trace.attributes.circuit_id },
    },
  };
}

/** One contract record as a Kafka message value. */
export function encodeContractLog(record: LogContractRecord): Buffer {
  return Buffer.from(JSON.stringify(record));
}
