/**
 * Builds realistic, Collector-like OTLP telemetry with the OpenTelemetry JS SDK and its official serializers
 * (no hand-written bytes): services beorn/palantir/arda, workflows wf-snowflake-001/wf-mssql-002/
 * wf-postgres-003, the seeds' custom attributes, some failing traces (PAYMENT_FAILURE, PRICE_MISSING,
 * timeouts) and gen_ai token usage. Deterministic for a given seed (ids come from a seeded generator), so
 * tests and benchmarks can assert on exact values; the demo producers feed it the current time.
 *
 * Typical use:
 *   const scenario = buildScenario({ traces: 20, seed: 7 });          // fixed base time (tests)
 *   const generator = createScenarioGenerator({ seed: 7 });            // continuous (demo, benchmark)
 *   const batch = generator.generate({ traces: 5, startMs: Date.now(), intervalMs: 200 });
 *   const logMessages = encodeLogs(batch.logs, { encoding: 'otlp_proto', batchSize: 50 });
 *   const traceMessages = encodeSpans(batch.spans, { encoding: 'otlp_json' });
 */
import {
  trace,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  type Context,
  type HrTime,
  type Span,
} from '@opentelemetry/api';
import { SeverityNumber, type Logger } from '@opentelemetry/api-logs';
import {
  JsonLogsSerializer,
  JsonTraceSerializer,
  ProtobufLogsSerializer,
  ProtobufTraceSerializer,
} from '@opentelemetry/otlp-transformer';
import { Resource } from '@opentelemetry/resources';
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  SimpleLogRecordProcessor,
  type ReadableLogRecord,
} from '@opentelemetry/sdk-logs';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type IdGenerator,
  type ReadableSpan,
  type Tracer,
} from '@opentelemetry/sdk-trace-base';
import { TelemetryEncodingError } from './errors';

export type { ReadableLogRecord, ReadableSpan };

export const SERVICES = ['arda', 'beorn', 'palantir'] as const;
export type ServiceName = (typeof SERVICES)[number];
export const WORKFLOWS = ['wf-snowflake-001', 'wf-mssql-002', 'wf-postgres-003'] as const;
/** service.version of every generated service (the custom logger reports it as app_version). */
export const APP_VERSION = '1.4.2';

/** Base time of buildScenario when none is given: fixed, so tests can assert on exact times. */
export const DEFAULT_START_MS = Date.UTC(2026, 0, 15, 10, 30, 0);

/** Small deterministic PRNG (mulberry32), so generated telemetry is reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hexId(random: () => number, bytes: number): string {
  let out = '';
  for (let i = 0; i < bytes; i++)
    out += Math.floor(random() * 256)
      .toString(16)
      .padStart(2, '0');
  return /^0+$/.test(out) ? `${out.slice(0, -1)}1` : out;
}

class SeededIdGenerator implements IdGenerator {
  constructor(private readonly random: () => number) {}
  generateTraceId(): string {
    return hexId(this.random, 16);
  }
  generateSpanId(): string {
    return hexId(this.random, 8);
  }
}

function toHrTime(ms: number): HrTime {
  const seconds = Math.floor(ms / 1000);
  return [seconds, Math.round((ms - seconds * 1000) * 1e6)];
}

/** A tracer + logger per service (the SDK binds one resource per provider), all exporting to memory. */
class Telemetry {
  private readonly spanExporter = new InMemorySpanExporter();
  private readonly logExporter = new InMemoryLogRecordExporter();
  private readonly tracers = new Map<ServiceName, Tracer>();
  private readonly loggers = new Map<ServiceName, Logger>();

  constructor(random: () => number, env: string) {
    for (const service of SERVICES) {
      const resource = new Resource({
        'service.name': service,
        'service.version': APP_VERSION,
        'deployment.environment.name': env,
        'host.name': `${service}-0`,
      });
      const tracerProvider = new BasicTracerProvider({
        resource,
        idGenerator: new SeededIdGenerator(random),
        spanProcessors: [new SimpleSpanProcessor(this.spanExporter)],
      });
      const loggerProvider = new LoggerProvider({ resource });
      loggerProvider.addLogRecordProcessor(new SimpleLogRecordProcessor(this.logExporter));
      this.tracers.set(service, tracerProvider.getTracer(`stacklens.fixtures.${service}`, '1.0.0'));
      this.loggers.set(service, loggerProvider.getLogger(`${service}.app`, APP_VERSION));
    }
  }

  tracer(service: ServiceName): Tracer {
    return this.tracers.get(service) as Tracer;
  }

  logger(service: ServiceName): Logger {
    return this.loggers.get(service) as Logger;
  }

  /** What was exported since the last call (the exporters are emptied, so a long run stays bounded). */
  drain(): { spans: ReadableSpan[]; logs: ReadableLogRecord[] } {
    const spans = this.spanExporter.getFinishedSpans();
    const logs = this.logExporter.getFinishedLogRecords();
    this.spanExporter.reset();
    this.logExporter.reset();
    return { spans, logs };
  }
}

export type Failure = 'PAYMENT_FAILURE' | 'PRICE_MISSING' | 'TIMEOUT';
export const FAILURES: readonly Failure[] = ['PAYMENT_FAILURE', 'PRICE_MISSING', 'TIMEOUT'];
/** An incident's root cause: logged before each failure of one kind (a new error pattern for the miner). */
export interface FailureCause {
  failure: Failure;
  /** `{n}` becomes a replica number 1–3. */
  message: string;
}
/** Relative weights of the failure kinds among failing traces (missing kinds weigh 0). */
export type FailureWeights = Partial<Record<Failure, number>>;
const EQUAL_WEIGHTS: FailureWeights = { PAYMENT_FAILURE: 1, PRICE_MISSING: 1, TIMEOUT: 1 };

export interface ScenarioOptions {
  /** Number of traces (requests) to generate; default 10. */
  traces?: number;
  /** PRNG seed; default 1. */
  seed?: number;
  /** Base time: epoch ms of the first trace; default DEFAULT_START_MS (fixed, for tests). */
  startMs?: number;
  /** Gap between trace starts in ms; default 250. */
  intervalMs?: number;
  /** Fraction of traces that fail (0..1); default 0.2. */
  errorRate?: number;
  /** Which failures failing traces get; default all three equally. */
  failureWeights?: FailureWeights;
  /** deployment.environment.name; default 'dev'. */
  env?: string;
}

/** The seeds' custom attributes, set on every span and log of a trace. */
export interface CustomAttributes {
  workflow_id: string;
  circuit_id: string;
  product_id: string;
  resource_id: string;
  resource_type_id: string;
  request_id: string;
}

export interface TraceSummary {
  traceId: string;
  workflowId: string;
  failure: Failure | null;
  /** Epoch ms of the root span start. */
  startMs: number;
  /** Ms from root start to root end. */
  durationMs: number;
  spanCount: number;
  logCount: number;
  /** Span id of each service's server span (where that service logs). */
  spanIds: Record<ServiceName, string>;
  attributes: CustomAttributes;
  userId: string;
}

export interface Scenario {
  spans: ReadableSpan[];
  logs: ReadableLogRecord[];
  traces: TraceSummary[];
}

export interface GenerateOptions {
  traces: number;
  /** Epoch ms of the first trace of this batch. */
  startMs: number;
  /** Gap between trace starts in ms. */
  intervalMs: number;
  /** Fraction of traces that fail (0..1); default 0.2. */
  errorRate?: number;
  failureWeights?: FailureWeights;
  /** A root cause the failing service logs at ERROR just before each failure of this kind. */
  cause?: FailureCause;
  /** More volume per trace (benchmarks); absent: each request's own 5 spans and 3–4 logs. */
  shape?: TraceShape;
}

/** Extra volume per trace, on top of the request's own spans and logs. */
export interface TraceShape {
  /** Spans per trace, at least 5: the ones beyond 5 are palantir's internal `query inventory` steps. */
  spansPerTrace?: number;
  /** Additional DEBUG logs emitted inside every span of the trace. */
  logsPerSpan?: number;
  /** Attributes set on every span and log record of the trace, besides the custom ones. */
  attributes?: Record<string, string | number>;
}

/** Generates traces batch after batch; request numbering, ids and the PRNG continue across batches. */
export interface ScenarioGenerator {
  generate(options: GenerateOptions): Scenario;
}

const FAILURE_DETAILS: Record<Failure, { service: ServiceName; message: string; type: string }> = {
  PAYMENT_FAILURE: {
    service: 'beorn',
    message: 'Payment failed: card declined by issuer',
    type: 'PaymentError',
  },
  PRICE_MISSING: { service: 'palantir', message: 'Product price is null or missing', type: 'ValueError' },
  TIMEOUT: {
    service: 'arda',
    message: 'Upstream inventory call timed out after 5000ms',
    type: 'TimeoutError',
  },
};

/** Weighted pick; with equal weights this is `FAILURES[floor(r * 3)]`, whatever the weights' scale. */
function pickFailure(r: number, weights: FailureWeights): Failure {
  const total = FAILURES.reduce((sum, f) => sum + (weights[f] ?? 0), 0);
  let threshold = r * total;
  for (const failure of FAILURES) {
    const weight = weights[failure] ?? 0;
    if (threshold < weight) return failure;
    threshold -= weight;
  }
  // Rounding can leave r * total at the very end of the range: the last kind with a weight.
  return [...FAILURES].reverse().find((f) => (weights[f] ?? 0) > 0) ?? 'TIMEOUT';
}

/**
 * One request per trace: arda (server) → beorn (client→server) → palantir (server, with a gen_ai span),
 * each emitting logs inside its span; failing traces get an ERROR log and an error span with an
 * exception event. Timeouts make the trace last more than 5 s.
 */
export function createScenarioGenerator(options: { seed?: number; env?: string } = {}): ScenarioGenerator {
  const random = seededRandom(options.seed ?? 1);
  const telemetry = new Telemetry(random, options.env ?? 'dev');
  let index = 0;

  function generateTrace(
    t0: number,
    errorRate: number,
    weights: FailureWeights,
    shape: TraceShape,
    cause: FailureCause | undefined,
  ): TraceSummary {
    const i = index++;
    const workflowId = WORKFLOWS[i % WORKFLOWS.length] as string;
    const failure = random() < errorRate ? pickFailure(random(), weights) : null;
    const custom: CustomAttributes = {
      workflow_id: workflowId,
      circuit_id: `CIRCUIT-${100 + (i % 7)}`,
      product_id: `PROD-${400 + (i % 5)}`,
      resource_id: `RES-${(i * 37) % 1000}`,
      resource_type_id: `RT-${i % 3}`,
      request_id: `req-${i.toString(16).padStart(8, '0')}`,
    };
    const userId = `user-${i % 11}`;
    // What every record of the trace carries: the seeds' custom attributes plus the shape's extra ones.
    const common: Record<string, string | number> = { ...shape.attributes, ...custom };
    const totalMs =
      failure === 'TIMEOUT' ? 5200 + Math.floor(random() * 500) : 40 + Math.floor(random() * 200);
    let logCount = 0;
    const log = (
      service: ServiceName,
      ctx: Context,
      atMs: number,
      severity: SeverityNumber,
      text: string,
      body: string,
      extra: Record<string, string | number> = {},
    ) => {
      telemetry.logger(service).emit({
        timestamp: toHrTime(atMs),
        observedTimestamp: toHrTime(atMs + 3),
        severityNumber: severity,
        severityText: text,
        body,
        attributes: { ...common, ...extra },
        context: ctx,
      });
      logCount++;
    };

    const root = telemetry.tracer('arda').startSpan(
      'POST /api/v1/design',
      {
        kind: SpanKind.SERVER,
        startTime: toHrTime(t0),
        attributes: { ...common, 'http.request.method': 'POST', 'http.route': '/api/v1/design' },
      },
      ROOT_CONTEXT,
    );
    const rootCtx = trace.setSpan(ROOT_CONTEXT, root);
    log(
      'arda',
      rootCtx,
      t0 + 1,
      SeverityNumber.INFO,
      'INFO',
      `Design request received for ${custom.circuit_id}`,
    );

    const client = telemetry
      .tracer('arda')
      .startSpan(
        'GET beorn /identity',
        { kind: SpanKind.CLIENT, startTime: toHrTime(t0 + 5), attributes: { ...common } },
        rootCtx,
      );
    const clientCtx = trace.setSpan(rootCtx, client);
    const beorn = telemetry
      .tracer('beorn')
      .startSpan(
        'GET /identity',
        { kind: SpanKind.SERVER, startTime: toHrTime(t0 + 6), attributes: { ...common } },
        clientCtx,
      );
    const beornCtx = trace.setSpan(clientCtx, beorn);
    log('beorn', beornCtx, t0 + 7, SeverityNumber.DEBUG, 'DEBUG', 'Resolving identity', { user_id: userId });

    const palantir = telemetry
      .tracer('palantir')
      .startSpan(
        'aggregate inventory',
        { kind: SpanKind.SERVER, startTime: toHrTime(t0 + 10), attributes: { ...common } },
        rootCtx,
      );
    const palantirCtx = trace.setSpan(rootCtx, palantir);
    const llm = telemetry.tracer('palantir').startSpan(
      'chat gpt-4o-mini',
      {
        kind: SpanKind.CLIENT,
        startTime: toHrTime(t0 + 12),
        attributes: {
          ...shape.attributes,
          'gen_ai.system': 'openai',
          'gen_ai.request.model': 'gpt-4o-mini',
          'gen_ai.usage.input_tokens': 100 + (i % 50),
          'gen_ai.usage.output_tokens': 20 + (i % 10),
        },
      },
      palantirCtx,
    );
    llm.end(toHrTime(t0 + 30));
    const steps: { span: Span; ctx: Context; startMs: number }[] = [];
    for (let k = 5; k < (shape.spansPerTrace ?? 5); k++) {
      const startMs = t0 + 12 + ((k - 5) % 18);
      const step = telemetry
        .tracer('palantir')
        .startSpan(
          `query inventory ${k - 4}`,
          { kind: SpanKind.INTERNAL, startTime: toHrTime(startMs), attributes: { ...common } },
          palantirCtx,
        );
      steps.push({ span: step, ctx: trace.setSpan(palantirCtx, step), startMs });
    }
    // Extra logs at the start of each span, which every span of the trace outlasts by at least 1 ms.
    const logsPerSpan = shape.logsPerSpan ?? 0;
    const spanned: [ServiceName, Context, number][] = [
      ['arda', rootCtx, t0],
      ['arda', clientCtx, t0 + 5],
      ['beorn', beornCtx, t0 + 6],
      ['palantir', palantirCtx, t0 + 10],
      ['palantir', trace.setSpan(palantirCtx, llm), t0 + 12],
      ...steps.map((s): [ServiceName, Context, number] => ['palantir', s.ctx, s.startMs]),
    ];
    for (const [service, ctx, startMs] of logsPerSpan > 0 ? spanned : []) {
      for (let n = 0; n < logsPerSpan; n++) {
        log(
          service,
          ctx,
          startMs + (n % 2),
          SeverityNumber.DEBUG,
          'DEBUG',
          `step ${n + 1} of ${logsPerSpan}`,
        );
      }
    }
    for (const s of steps) s.span.end(toHrTime(s.startMs + 1));
    log(
      'palantir',
      palantirCtx,
      t0 + 31,
      SeverityNumber.INFO,
      'INFO',
      `Aggregated ${3 + (i % 4)} inventory items`,
    );

    if (failure !== null) {
      const details = FAILURE_DETAILS[failure];
      const span = details.service === 'beorn' ? beorn : details.service === 'palantir' ? palantir : root;
      const ctx =
        details.service === 'beorn' ? beornCtx : details.service === 'palantir' ? palantirCtx : rootCtx;
      // Inside the failing span: beorn ends at +20 ms, palantir at +35 ms, arda (root) at +totalMs.
      const atMs =
        t0 + (details.service === 'beorn' ? 18 : details.service === 'palantir' ? 33 : totalMs - 2);
      if (cause?.failure === failure) {
        // Classified under the failure it causes (else enrichment would call it UNKNOWN_ERROR).
        const message = cause.message.replace('{n}', String(1 + (i % 3)));
        log(details.service, ctx, atMs - 1, SeverityNumber.ERROR, 'ERROR', message, { error_code: failure });
      }
      span.recordException({ name: details.type, message: details.message }, toHrTime(atMs));
      span.setStatus({ code: SpanStatusCode.ERROR, message: details.message });
      log(details.service, ctx, atMs, SeverityNumber.ERROR, 'ERROR', details.message, {
        'exception.type': details.type,
        'exception.message': details.message,
        ...(failure === 'TIMEOUT' ? {} : { error_code: failure }),
      });
    }

    palantir.end(toHrTime(t0 + 35));
    beorn.end(toHrTime(t0 + 20));
    client.end(toHrTime(t0 + 21));
    root.end(toHrTime(t0 + totalMs));
    return {
      traceId: root.spanContext().traceId,
      workflowId,
      failure,
      startMs: t0,
      durationMs: totalMs,
      spanCount: 5 + steps.length,
      logCount,
      spanIds: {
        arda: root.spanContext().spanId,
        beorn: beorn.spanContext().spanId,
        palantir: palantir.spanContext().spanId,
      },
      attributes: custom,
      userId,
    };
  }

  return {
    generate(batch) {
      const errorRate = batch.errorRate ?? 0.2;
      const weights = batch.failureWeights ?? EQUAL_WEIGHTS;
      const shape = batch.shape ?? {};
      const traces: TraceSummary[] = [];
      for (let k = 0; k < batch.traces; k++) {
        traces.push(
          generateTrace(batch.startMs + k * batch.intervalMs, errorRate, weights, shape, batch.cause),
        );
      }
      return { ...telemetry.drain(), traces };
    },
  };
}

/** A one-off scenario (fixed base time unless `startMs` is given). */
export function buildScenario(options: ScenarioOptions = {}): Scenario {
  return createScenarioGenerator({ seed: options.seed, env: options.env }).generate({
    traces: options.traces ?? 10,
    startMs: options.startMs ?? DEFAULT_START_MS,
    intervalMs: options.intervalMs ?? 250,
    errorRate: options.errorRate,
    failureWeights: options.failureWeights,
  });
}

export type OtlpKafkaEncoding = 'otlp_proto' | 'otlp_json';

export interface EncodeOptions {
  /** Default otlp_proto, the Collector Kafka exporter's default. */
  encoding?: OtlpKafkaEncoding;
  /** Records per message (the Collector's batch processor groups records); default: all in one message. */
  batchSize?: number;
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function serialize(bytes: Uint8Array | undefined): Buffer {
  // The SDK serializers return undefined only for input they cannot represent; ours is SDK-made.
  if (bytes === undefined) throw new TelemetryEncodingError('OpenTelemetry serializer produced no bytes');
  return Buffer.from(bytes);
}

/** Serializes logs into Kafka message values, one ExportLogsServiceRequest per message. */
export function encodeLogs(logs: readonly ReadableLogRecord[], options: EncodeOptions = {}): Buffer[] {
  const serializer =
    (options.encoding ?? 'otlp_proto') === 'otlp_proto' ? ProtobufLogsSerializer : JsonLogsSerializer;
  return chunk(logs, options.batchSize ?? Math.max(logs.length, 1)).map((part) =>
    serialize(serializer.serializeRequest(part)),
  );
}

/** Serializes spans into Kafka message values, one ExportTraceServiceRequest per message. */
export function encodeSpans(spans: readonly ReadableSpan[], options: EncodeOptions = {}): Buffer[] {
  const serializer =
    (options.encoding ?? 'otlp_proto') === 'otlp_proto' ? ProtobufTraceSerializer : JsonTraceSerializer;
  return chunk(spans, options.batchSize ?? Math.max(spans.length, 1)).map((part) =>
    serialize(serializer.serializeRequest(part)),
  );
}
