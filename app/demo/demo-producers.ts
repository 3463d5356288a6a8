/**
 * Mock producers for `stacklens run --demo` (and load for the benchmark): the seeds' services beorn,
 * palantir and arda running workflows wf-snowflake-001/wf-mssql-002/wf-postgres-003, exported to Kafka the
 * way the OpenTelemetry Collector's Kafka exporter does, plus beorn's custom JSON logger.
 *
 * Wire format, as the Collector's Kafka exporter writes it (checked against its source,
 * open-telemetry/opentelemetry-collector-contrib exporter/kafkaexporter):
 * - one ExportLogsServiceRequest / ExportTraceServiceRequest per message, holding what the batch processor
 *   collected (here: every `batchIntervalMs`, the Collector's default batch timeout of 200 ms);
 * - no `content-type` header: the exporter only copies client metadata listed in `include_metadata_keys`,
 *   so consumers must sniff the encoding (which processors/otlp/decode does);
 * - no key: `partition_traces_by_id` is off by default and is not emulated, so messages spread over
 *   partitions and a trace's spans may land on several (the topology re-keys by trace id anyway).
 * Encodings: most batches otlp_proto (the exporter's default), a share otlp_json (a second Collector
 * configured for JSON). beorn's custom logger writes single log-contract records with a
 * `content-type: application/json` header.
 *
 * Like an SDK, a record is exported only once its time has passed: spans when they end, logs when
 * emitted. A slow trace's root span therefore arrives seconds after its children, as in production.
 *
 * Bounded: at most one second of traces is generated per tick (a loop that fell further behind skips the
 * rest and counts it), ticks never overlap, at most ~6 s of generated records wait to be due, and each
 * `send` stays under 512 KiB (the broker's default limit on a batch is 1 MB).
 */
import type { Message, Producer } from 'kafkajs';
import { z } from 'zod';
import type { Logger } from '../../common/logger';
import {
  CUSTOM_LOGGER_HEADERS,
  encodeContractLog,
  orderLogEntry,
  type CustomLogEntry,
} from './custom-logger';
import { DemoConfigError } from './errors';
import {
  createScenarioGenerator,
  encodeLogs,
  encodeSpans,
  FAILURES,
  seededRandom,
  type Failure,
  type FailureCause,
  type FailureWeights,
  type OtlpKafkaEncoding,
  type ReadableLogRecord,
  type ReadableSpan,
} from './otlp-scenario';

/** A stretch of demo traffic with its own failure profile; phases repeat in order. */
export interface DemoPhase {
  name: string;
  durationMs: number;
  /** Fraction of traces that fail (0..1). */
  errorRate: number;
  failureWeights?: FailureWeights;
  /** What the failing service logs before each failure of one kind in this phase (its root cause). */
  cause?: FailureCause;
}

/**
 * Default profile, starting with an incident so every default alert rule fires within seconds:
 * - incident (3 min): palantir fails most requests with PRICE_MISSING, after logging its cause (a
 *   pricing-db replica unreachable: an error log line only incidents write), taking its error ratio over the
 *   `error-ratio` rule's 20% within seconds of the start, and again in every later cycle (over its 5-minute
 *   window the incident outweighs the steady minutes before it);
 * - steady (7 min): 8% of requests fail with any of PAYMENT_FAILURE / PRICE_MISSING / TIMEOUT.
 * In both, ERROR logs fire `sense-app-errors`, `payment-failure` and `price-missing`, failed traces fire
 * `trace-error` and timeouts (> 5 s) fire `slow-trace`.
 */
export const DEMO_PHASES: readonly DemoPhase[] = [
  {
    name: 'incident',
    durationMs: 180_000,
    errorRate: 0.7,
    failureWeights: { PRICE_MISSING: 0.9, PAYMENT_FAILURE: 0.05, TIMEOUT: 0.05 },
    cause: {
      failure: 'PRICE_MISSING',
      message: 'Price cache refresh failed: pricing-db replica {n} unreachable',
    },
  },
  { name: 'steady', durationMs: 420_000, errorRate: 0.08 },
];

export const MAX_RATE = 5000;

export interface EncodingMix {
  /** Share of OTLP batch messages encoded as otlp_json instead of otlp_proto; default 0.2. */
  otlpJsonShare?: number;
  /** Share of traces for which beorn's custom logger also writes a JSON log record; default 0.3. */
  jsonLogShare?: number;
}

export interface DemoProducersOptions {
  /** A connected kafkajs producer (only `send` is used; the caller owns connect/disconnect). */
  producer: Pick<Producer, 'send'>;
  topics: { logs: string; traces: string };
  /** Traces (requests) per second, 0 < rate ≤ MAX_RATE. */
  rate: number;
  encodingMix?: EncodingMix;
  log: Logger;
  /** PRNG seed of the generated telemetry; default: from the clock, so runs do not repeat trace ids. */
  seed?: number;
  /** deployment.environment.name of the services; default 'demo'. */
  env?: string;
  /** How often batches are exported (the Collector batch processor's timeout); default 200 ms. */
  batchIntervalMs?: number;
  /** Records per OTLP message at most (the batch processor's send_batch_max_size); default 500 (< 400 KB). */
  maxRecordsPerMessage?: number;
  phases?: readonly DemoPhase[];
}

export type DemoMessageKind = OtlpKafkaEncoding | 'json_log';

export interface DemoProducerStats {
  /** Name of the current phase. */
  phase: string;
  /** Traces generated so far, and how many of them failed, by failure. */
  traces: number;
  failedTraces: Record<Failure, number>;
  /** Traces not generated because the loop fell more than a second behind (slow broker). */
  skippedTraces: number;
  /** Generated records waiting for their time to pass. */
  pendingRecords: number;
  /** Acknowledged by Kafka. */
  sent: {
    messages: Record<DemoMessageKind, number>;
    spans: number;
    otlpLogs: number;
    jsonLogs: number;
  };
  /** Failed `send` calls; their records are dropped, as a Collector does once retries are exhausted. */
  sendErrors: number;
  droppedRecords: number;
}

export interface DemoProducers {
  /** Stops generating, sends every record still waiting (even if its time is ahead) and resolves. */
  stop(): Promise<void>;
  stats(): DemoProducerStats;
}

const share = z.number().min(0).max(1);
const OptionsSchema = z.object({
  topics: z.object({ logs: z.string().min(1), traces: z.string().min(1) }),
  rate: z.number().positive().max(MAX_RATE),
  encodingMix: z.object({ otlpJsonShare: share.optional(), jsonLogShare: share.optional() }).optional(),
  seed: z.number().int().optional(),
  env: z.string().min(1).optional(),
  batchIntervalMs: z.number().int().min(10).max(60_000).optional(),
  maxRecordsPerMessage: z.number().int().positive().max(10_000).optional(),
  phases: z
    .array(
      z.object({
        name: z.string().min(1),
        durationMs: z.number().int().positive(),
        errorRate: share,
        failureWeights: z
          .object({
            PAYMENT_FAILURE: z.number().nonnegative().optional(),
            PRICE_MISSING: z.number().nonnegative().optional(),
            TIMEOUT: z.number().nonnegative().optional(),
          })
          .refine((w) => Object.values(w).some((v) => v !== undefined && v > 0), 'needs a positive weight')
          .optional(),
        cause: z
          .object({
            failure: z.enum(['PAYMENT_FAILURE', 'PRICE_MISSING', 'TIMEOUT']),
            message: z.string().min(1),
          })
          .optional(),
      }),
    )
    .min(1)
    .optional(),
});

function validate(options: DemoProducersOptions): void {
  // Only the plain settings are checked; the producer and logger are typed objects.
  const parsed = OptionsSchema.safeParse(options);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new DemoConfigError(`invalid demo producer options: ${issues}`);
  }
}

function hrTimeMs([seconds, nanos]: [number, number]): number {
  return seconds * 1000 + nanos / 1e6;
}

/** Removes and returns the items whose time has passed (`time <= nowMs`). */
function takeDue<T>(items: T[], timeOf: (item: T) => number, nowMs: number): T[] {
  const due: T[] = [];
  let kept = 0;
  for (const item of items) {
    if (timeOf(item) <= nowMs) due.push(item);
    else items[kept++] = item;
  }
  items.length = kept;
  return due;
}

interface OutMessage {
  kind: DemoMessageKind;
  records: number;
  value: Buffer;
  headers?: Record<string, string>;
}

/**
 * kafkajs writes the messages of one `send` to a partition as one record batch, and the broker rejects a
 * batch over its message.max.bytes (1 MB by default): high rates are split into several sends.
 */
const MAX_SEND_BYTES = 512 * 1024;

function bySize(out: readonly OutMessage[]): OutMessage[][] {
  const groups: OutMessage[][] = [];
  let current: OutMessage[] = [];
  let bytes = 0;
  for (const m of out) {
    const size = m.value.length;
    if (current.length > 0 && bytes + size > MAX_SEND_BYTES) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(m);
    bytes += size;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

interface Ready {
  spans: ReadableSpan[];
  logs: ReadableLogRecord[];
  custom: CustomLogEntry[];
}

export function startDemoProducers(options: DemoProducersOptions): DemoProducers {
  validate(options);
  const { producer, topics, rate, log } = options;
  const env = options.env ?? 'demo';
  const seed = options.seed ?? Date.now() % 0x1_0000_0000;
  const otlpJsonShare = options.encodingMix?.otlpJsonShare ?? 0.2;
  const jsonLogShare = options.encodingMix?.jsonLogShare ?? 0.3;
  const batchIntervalMs = options.batchIntervalMs ?? 200;
  const maxRecordsPerMessage = options.maxRecordsPerMessage ?? 500;
  const phases = options.phases ?? DEMO_PHASES;
  const cycleMs = phases.reduce((sum, p) => sum + p.durationMs, 0);
  const intervalMs = 1000 / rate;
  const maxTracesPerTick = Math.max(1, Math.ceil(rate));

  const generator = createScenarioGenerator({ seed, env });
  // A separate stream for the mix, so choosing encodings does not change the generated telemetry.
  const mixRandom = seededRandom(seed ^ 0x5eed);
  const pending: Ready = { spans: [], logs: [], custom: [] };
  const startedAt = Date.now();
  let scheduled = 0;
  let phase = phases[0] as DemoPhase;
  const counters = {
    traces: 0,
    failedTraces: Object.fromEntries(FAILURES.map((f) => [f, 0])) as Record<Failure, number>,
    skippedTraces: 0,
    messages: { otlp_proto: 0, otlp_json: 0, json_log: 0 } as Record<DemoMessageKind, number>,
    spans: 0,
    otlpLogs: 0,
    jsonLogs: 0,
    sendErrors: 0,
    droppedRecords: 0,
  };

  function phaseAt(elapsedMs: number): DemoPhase {
    let offset = elapsedMs % cycleMs;
    for (const p of phases) {
      if (offset < p.durationMs) return p;
      offset -= p.durationMs;
    }
    return phase;
  }

  /** Generates the traces whose start time has come (trace k starts at startedAt + k / rate). */
  function generateDue(nowMs: number): void {
    let due = Math.floor((nowMs - startedAt) / intervalMs) + 1 - scheduled;
    if (due > maxTracesPerTick) {
      counters.skippedTraces += due - maxTracesPerTick;
      scheduled += due - maxTracesPerTick;
      due = maxTracesPerTick;
    }
    if (due <= 0) return;
    phase = phaseAt(nowMs - startedAt);
    const batch = generator.generate({
      traces: due,
      startMs: startedAt + scheduled * intervalMs,
      intervalMs,
      errorRate: phase.errorRate,
      failureWeights: phase.failureWeights,
      cause: phase.cause,
    });
    scheduled += due;
    counters.traces += due;
    pending.spans.push(...batch.spans);
    pending.logs.push(...batch.logs);
    for (const trace of batch.traces) {
      if (trace.failure !== null) counters.failedTraces[trace.failure]++;
      if (mixRandom() < jsonLogShare) pending.custom.push(orderLogEntry(trace, env));
    }
  }

  function takeReady(nowMs: number): Ready {
    return {
      spans: takeDue(pending.spans, (s) => hrTimeMs(s.endTime), nowMs),
      logs: takeDue(pending.logs, (l) => hrTimeMs(l.hrTime), nowMs),
      custom: takeDue(pending.custom, (c) => c.timeMs, nowMs),
    };
  }

  function pickEncoding(): OtlpKafkaEncoding {
    return mixRandom() < otlpJsonShare ? 'otlp_json' : 'otlp_proto';
  }

  function otlpMessages<T>(
    items: readonly T[],
    encode: (part: readonly T[], encoding: OtlpKafkaEncoding) => Buffer[],
  ): OutMessage[] {
    const out: OutMessage[] = [];
    for (let i = 0; i < items.length; i += maxRecordsPerMessage) {
      const part = items.slice(i, i + maxRecordsPerMessage);
      const kind = pickEncoding();
      for (const value of encode(part, kind)) out.push({ kind, records: part.length, value });
    }
    return out;
  }

  /** One `send` per group of messages, each group under MAX_SEND_BYTES (see there). */
  async function sendTopic(topic: string, out: OutMessage[], count: (m: OutMessage) => void): Promise<void> {
    for (const group of bySize(out)) {
      try {
        await producer.send({
          topic,
          messages: group.map((m): Message => ({ value: m.value, headers: m.headers })),
        });
      } catch (error) {
        counters.sendErrors++;
        counters.droppedRecords += group.reduce((sum, m) => sum + m.records, 0);
        log.warn({ err: error, topic, messages: group.length }, 'demo producers: send failed, batch dropped');
        continue;
      }
      for (const m of group) {
        counters.messages[m.kind]++;
        count(m);
      }
    }
  }

  async function send(ready: Ready): Promise<void> {
    const traceMessages = otlpMessages(ready.spans, (part, encoding) => encodeSpans(part, { encoding }));
    const logMessages = [
      ...otlpMessages(ready.logs, (part, encoding) => encodeLogs(part, { encoding })),
      ...ready.custom.map((entry): OutMessage => ({
        kind: 'json_log',
        records: 1,
        value: encodeContractLog(entry.record),
        headers: { ...CUSTOM_LOGGER_HEADERS },
      })),
    ];
    await Promise.all([
      sendTopic(topics.traces, traceMessages, (m) => (counters.spans += m.records)),
      sendTopic(topics.logs, logMessages, (m) => {
        if (m.kind === 'json_log') counters.jsonLogs += m.records;
        else counters.otlpLogs += m.records;
      }),
    ]);
  }

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  let stopping: Promise<void> | undefined;

  async function tick(): Promise<void> {
    const nowMs = Date.now();
    generateDue(nowMs);
    await send(takeReady(nowMs));
  }

  function runTick(): void {
    timer = undefined;
    inFlight = tick()
      .catch((error: unknown) => log.error({ err: error }, 'demo producers: tick failed'))
      .then(() => {
        if (!stopped) timer = setTimeout(runTick, batchIntervalMs);
      });
  }

  function stats(): DemoProducerStats {
    return {
      phase: phase.name,
      traces: counters.traces,
      failedTraces: { ...counters.failedTraces },
      skippedTraces: counters.skippedTraces,
      pendingRecords: pending.spans.length + pending.logs.length + pending.custom.length,
      sent: {
        messages: { ...counters.messages },
        spans: counters.spans,
        otlpLogs: counters.otlpLogs,
        jsonLogs: counters.jsonLogs,
      },
      sendErrors: counters.sendErrors,
      droppedRecords: counters.droppedRecords,
    };
  }

  log.info({ rate, topics, seed, phases: phases.map((p) => p.name) }, 'demo producers started');
  runTick();

  return {
    stop() {
      stopping ??= (async () => {
        stopped = true;
        if (timer !== undefined) clearTimeout(timer);
        await inFlight;
        await send(takeReady(Number.POSITIVE_INFINITY));
        log.info({ ...stats() }, 'demo producers stopped');
      })();
      return stopping;
    },
    stats,
  };
}
