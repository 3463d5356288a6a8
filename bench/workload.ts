import { SeverityNumber } from '@opentelemetry/api-logs';
import {
  createScenarioGenerator,
  encodeLogs,
  encodeSpans,
  type ScenarioGenerator,
  type TraceShape,
} from '../app/demo/otlp-scenario';
import type { BenchOptions } from './bench-options';

/** The preloaded input: OTLP protobuf messages as the Collector's Kafka exporter writes them. */
export interface Workload {
  logMessages: Buffer[];
  traceMessages: Buffer[];
  traces: number;
  spans: number;
  logs: number;
  /** Bytes of all message values. */
  bytes: number;
}

/** Traces generated (and encoded) at a time, so the SDK's in-memory exporters stay small. */
const GENERATE_CHUNK = 250;
/** Event-time gap between trace starts: 2 000 traces span 10 s, like a busy Collector's recent past. */
const TRACE_INTERVAL_MS = 5;

/** Attribute values of a realistic length (short ids and names), the same for every record. */
export function extraAttributes(count: number): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (let k = 0; k < count; k++) attributes[`bench.attr.${k}`] = `value-${k}-${'x'.repeat(8)}`;
  return attributes;
}

/** Generates the preloaded traces, ending at `nowMs`, encoded as otlp_proto `recordsPerBatch` at a time. */
export function buildWorkload(options: BenchOptions, nowMs: number): Workload {
  const generator = createScenarioGenerator({ seed: 42, env: 'bench' });
  const shape: TraceShape = {
    spansPerTrace: options.spansPerTrace,
    logsPerSpan: options.logsPerSpan,
    attributes: extraAttributes(options.attributes),
  };
  const workload: Workload = { logMessages: [], traceMessages: [], traces: 0, spans: 0, logs: 0, bytes: 0 };
  const firstStartMs = nowMs - options.traces * TRACE_INTERVAL_MS - 6_000;
  for (let done = 0; done < options.traces; done += GENERATE_CHUNK) {
    const batch = generator.generate({
      traces: Math.min(GENERATE_CHUNK, options.traces - done),
      startMs: firstStartMs + done * TRACE_INTERVAL_MS,
      intervalMs: TRACE_INTERVAL_MS,
      errorRate: options.errorRatio,
      shape,
    });
    const encoding = { encoding: 'otlp_proto', batchSize: options.recordsPerBatch } as const;
    workload.logMessages.push(...encodeLogs(batch.logs, encoding));
    workload.traceMessages.push(...encodeSpans(batch.spans, encoding));
    workload.traces += batch.traces.length;
    workload.spans += batch.spans.length;
    workload.logs += batch.logs.length;
  }
  for (const m of [...workload.logMessages, ...workload.traceMessages]) workload.bytes += m.length;
  return workload;
}

/** The attribute carrying a probe's produce time (epoch ms), which the bench alert rule matches on. */
export const PRODUCED_AT_ATTRIBUTE = 'bench.produced_at_ms';

/** One alert probe: a single ERROR log record of a fresh trace. */
export interface Probe {
  traceId: string;
  producedAtMs: number;
  value: Buffer;
}

/** Makes probes with the scenario generator: each is the ERROR log of a failing request. */
export function createProbeFactory(): (producedAtMs: number) => Probe {
  const generator: ScenarioGenerator = createScenarioGenerator({ seed: 4242, env: 'bench' });
  return (producedAtMs) => {
    const batch = generator.generate({
      traces: 1,
      // The payment failure is logged 18 ms into the request: just before the produce time.
      startMs: producedAtMs - 20,
      intervalMs: 1,
      errorRate: 1,
      failureWeights: { PAYMENT_FAILURE: 1 },
      shape: { attributes: { [PRODUCED_AT_ATTRIBUTE]: String(producedAtMs) } },
    });
    const errors = batch.logs.filter((l) => l.severityNumber === SeverityNumber.ERROR);
    const [value] = encodeLogs(errors, { encoding: 'otlp_proto' });
    return { traceId: batch.traces[0]!.traceId, producedAtMs, value: value! };
  };
}
