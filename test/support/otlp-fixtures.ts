/**
 * Builds realistic, Collector-like OTLP batches with the OpenTelemetry JS SDK and its official serializers
 * (no hand-written bytes): services beorn/palantir/arda, workflows wf-snowflake-001/wf-mssql-002/
 * wf-postgres-003, the seeds' custom attributes, some failing traces (PAYMENT_FAILURE, PRICE_MISSING,
 * timeouts) and gen_ai token usage. Deterministic for a given seed (ids come from a seeded generator), so
 * tests and benchmarks can assert on exact values.
 *
 * Typical use:
 *   const scenario = buildScenario({ traces: 20, seed: 7 });
 *   const logMessages = encodeLogs(scenario.logs, { encoding: 'otlp_proto', batchSize: 50 });
 *   const traceMessages = encodeSpans(scenario.spans, { encoding: 'otlp_json' });
 */
import { trace, ROOT_CONTEXT, SpanKind, SpanStatusCode, type HrTime } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
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
} from '@opentelemetry/sdk-trace-base';

import type { LogRecord, SpanRecord } from '../../processors/records';

export type { ReadableLogRecord, ReadableSpan };

export const SERVICES = ['arda', 'beorn', 'palantir'] as const;
export type ServiceName = (typeof SERVICES)[number];
export const WORKFLOWS = ['wf-snowflake-001', 'wf-mssql-002', 'wf-postgres-003'] as const;

/** Small deterministic PRNG (mulberry32), so fixtures are reproducible. */
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
  readonly spanExporter = new InMemorySpanExporter();
  readonly logExporter = new InMemoryLogRecordExporter();
  private readonly tracers = new Map<ServiceName, ReturnType<BasicTracerProvider['getTracer']>>();
  private readonly loggers = new Map<ServiceName, ReturnType<LoggerProvider['getLogger']>>();

  constructor(random: () => number, env: string) {
    for (const service of SERVICES) {
      const resource = new Resource({
        'service.name': service,
        'service.version': '1.4.2',
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
      this.loggers.set(service, loggerProvider.getLogger(`${service}.app`, '1.4.2'));
    }
  }

  tracer(service: ServiceName) {
    return this.tracers.get(service)!;
  }

  logger(service: ServiceName) {
    return this.loggers.get(service)!;
  }
}

export type Failure = 'PAYMENT_FAILURE' | 'PRICE_MISSING' | 'TIMEOUT';

export interface ScenarioOptions {
  /** Number of traces (requests) to generate; default 10. */
  traces?: number;
  /** PRNG seed; default 1. */
  seed?: number;
  /** Epoch ms of the first trace; default 2026-01-15T10:30:00Z. */
  startMs?: number;
  /** Gap between trace starts in ms; default 250. */
  intervalMs?: number;
  /** Fraction of traces that fail (0..1); default 0.2. */
  errorRate?: number;
  /** deployment.environment.name; default 'dev'. */
  env?: string;
}

export interface TraceSummary {
  traceId: string;
  workflowId: string;
  failure: Failure | null;
  /** Ms from root start to root end. */
  durationMs: number;
  spanCount: number;
  logCount: number;
}

export interface Scenario {
  spans: ReadableSpan[];
  logs: ReadableLogRecord[];
  traces: TraceSummary[];
}

const FAILURES: readonly Failure[] = ['PAYMENT_FAILURE', 'PRICE_MISSING', 'TIMEOUT'];

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

/**
 * One request per trace: arda (server) → beorn (client→server) → palantir (server, with a gen_ai span),
 * each emitting logs inside its span; failing traces get an ERROR log and an error span with an
 * exception event. Timeouts make the trace last more than 5 s.
 */
export function buildScenario(options: ScenarioOptions = {}): Scenario {
  const traces = options.traces ?? 10;
  const random = seededRandom(options.seed ?? 1);
  const startMs = options.startMs ?? Date.UTC(2026, 0, 15, 10, 30, 0);
  const intervalMs = options.intervalMs ?? 250;
  const errorRate = options.errorRate ?? 0.2;
  const telemetry = new Telemetry(random, options.env ?? 'dev');
  const summaries: TraceSummary[] = [];

  for (let i = 0; i < traces; i++) {
    const t0 = startMs + i * intervalMs;
    const workflowId = WORKFLOWS[i % WORKFLOWS.length]!;
    const failure = random() < errorRate ? FAILURES[Math.floor(random() * FAILURES.length)]! : null;
    const custom = {
      workflow_id: workflowId,
      circuit_id: `CIRCUIT-${100 + (i % 7)}`,
      product_id: `PROD-${400 + (i % 5)}`,
      resource_id: `RES-${(i * 37) % 1000}`,
      resource_type_id: `RT-${i % 3}`,
      request_id: `req-${i.toString(16).padStart(8, '0')}`,
    };
    const totalMs =
      failure === 'TIMEOUT' ? 5200 + Math.floor(random() * 500) : 40 + Math.floor(random() * 200);
    let logCount = 0;
    const log = (
      service: ServiceName,
      ctx: ReturnType<typeof trace.setSpan>,
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
        attributes: { ...custom, ...extra },
        context: ctx,
      });
      logCount++;
    };

    const root = telemetry.tracer('arda').startSpan(
      'POST /api/v1/design',
      {
        kind: SpanKind.SERVER,
        startTime: toHrTime(t0),
        attributes: { ...custom, 'http.request.method': 'POST', 'http.route': '/api/v1/design' },
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
        { kind: SpanKind.CLIENT, startTime: toHrTime(t0 + 5), attributes: custom },
        rootCtx,
      );
    const clientCtx = trace.setSpan(rootCtx, client);
    const beorn = telemetry
      .tracer('beorn')
      .startSpan(
        'GET /identity',
        { kind: SpanKind.SERVER, startTime: toHrTime(t0 + 6), attributes: custom },
        clientCtx,
      );
    const beornCtx = trace.setSpan(clientCtx, beorn);
    log('beorn', beornCtx, t0 + 7, SeverityNumber.DEBUG, 'DEBUG', 'Resolving identity', {
      user_id: `user-${i % 11}`,
    });

    const palantir = telemetry
      .tracer('palantir')
      .startSpan(
        'aggregate inventory',
        { kind: SpanKind.SERVER, startTime: toHrTime(t0 + 10), attributes: custom },
        rootCtx,
      );
    const palantirCtx = trace.setSpan(rootCtx, palantir);
    const llm = telemetry.tracer('palantir').startSpan(
      'chat gpt-4o-mini',
      {
        kind: SpanKind.CLIENT,
        startTime: toHrTime(t0 + 12),
        attributes: {
          'gen_ai.system': 'openai',
          'gen_ai.request.model': 'gpt-4o-mini',
          'gen_ai.usage.input_tokens': 100 + (i % 50),
          'gen_ai.usage.output_tokens': 20 + (i % 10),
        },
      },
      palantirCtx,
    );
    llm.end(toHrTime(t0 + 30));
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
    summaries.push({
      traceId: root.spanContext().traceId,
      workflowId,
      failure,
      durationMs: totalMs,
      spanCount: 5,
      logCount,
    });
  }

  return {
    spans: telemetry.spanExporter.getFinishedSpans(),
    logs: telemetry.logExporter.getFinishedLogRecords(),
    traces: summaries,
  };
}

export type FixtureEncoding = 'otlp_proto' | 'otlp_json';

export interface EncodeOptions {
  /** Default otlp_proto, the Collector Kafka exporter's default. */
  encoding?: FixtureEncoding;
  /** Records per message (the Collector's batch processor groups records); default: all in one message. */
  batchSize?: number;
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Serializes logs into Kafka message values, one ExportLogsServiceRequest per message. */
export function encodeLogs(logs: readonly ReadableLogRecord[], options: EncodeOptions = {}): Buffer[] {
  const serializer =
    (options.encoding ?? 'otlp_proto') === 'otlp_proto' ? ProtobufLogsSerializer : JsonLogsSerializer;
  return chunk(logs, options.batchSize ?? Math.max(logs.length, 1)).map((part) =>
    Buffer.from(serializer.serializeRequest(part)!),
  );
}

/** Serializes spans into Kafka message values, one ExportTraceServiceRequest per message. */
export function encodeSpans(spans: readonly ReadableSpan[], options: EncodeOptions = {}): Buffer[] {
  const serializer =
    (options.encoding ?? 'otlp_proto') === 'otlp_proto' ? ProtobufTraceSerializer : JsonTraceSerializer;
  return chunk(spans, options.batchSize ?? Math.max(spans.length, 1)).map((part) =>
    Buffer.from(serializer.serializeRequest(part)!),
  );
}

/** Content-type header the way a producer would declare each encoding. */
export function contentTypeHeader(encoding: FixtureEncoding): Record<string, string> {
  return { 'content-type': encoding === 'otlp_proto' ? 'application/x-protobuf' : 'application/json' };
}

/** One log in the seeds' JSON log contract (what custom loggers write to otel-logs), as message bytes. */
export function contractLogMessage(overrides: Record<string, unknown> = {}): Buffer {
  return Buffer.from(
    JSON.stringify({
      timestamp: '2026-01-15T10:30:45.123456Z',
      service: 'beorn',
      level: 'error',
      message: 'Payment failed for order 1234',
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      span_id: '00f067aa0ba902b7',
      request_id: '6f1c1c8e-5a3b-4b0e-9f57-3e2d7a0f1b2c',
      error_code: 'PAYMENT_FAILURE',
      user_id: 'user-42',
      product_id: 'PROD-401',
      action: 'create_order',
      status: 'failure',
      app_version: '1.4.2',
      attrs: { workflow_id: 'wf-mssql-002', attempt: 2 },
      ...overrides,
    }),
  );
}

/** A normalized LogRecord with realistic defaults (for tests of the stages after normalize). */
export function sampleLog(overrides: Partial<LogRecord> = {}): LogRecord {
  return {
    id: 'otel-logs:0:42:0',
    source: 'otlp_proto',
    time_unix_nano: '1768473000531000000',
    observed_time_unix_nano: '1768473000534000000',
    time_ms: 1768473000531,
    trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
    span_id: '00f067aa0ba902b7',
    trace_flags: 1,
    severity_number: 9,
    severity_text: 'INFO',
    body: 'Design request received for CIRCUIT-100',
    resource_schema_url: '',
    resource_attributes: { 'service.name': 'arda', 'deployment.environment.name': 'dev' },
    scope_name: 'arda.app',
    scope_version: '1.4.2',
    scope_schema_url: '',
    scope_attributes: {},
    log_attributes: { workflow_id: 'wf-snowflake-001', circuit_id: 'CIRCUIT-100' },
    service: 'arda',
    env: 'dev',
    workflow_id: 'wf-snowflake-001',
    circuit_id: 'CIRCUIT-100',
    product_id: '',
    resource_id: '',
    resource_type_id: '',
    request_id: '',
    error_code: '',
    gen_ai_input_tokens: 0,
    gen_ai_output_tokens: 0,
    redacted_count: 0,
    ...overrides,
  };
}

/** A normalized SpanRecord with realistic defaults (for tests of the stages after normalize). */
export function sampleSpan(overrides: Partial<SpanRecord> = {}): SpanRecord {
  return {
    trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
    span_id: '00f067aa0ba902b7',
    parent_span_id: '',
    trace_state: '',
    name: 'POST /api/v1/design',
    kind: 'Server',
    start_time_unix_nano: '1768473000500000000',
    end_time_unix_nano: '1768473000620000000',
    duration_ns: '120000000',
    start_ms: 1768473000500,
    duration_ms: 120,
    status_code: 'Unset',
    status_message: '',
    resource_schema_url: '',
    resource_attributes: { 'service.name': 'arda', 'deployment.environment.name': 'dev' },
    scope_name: 'arda.http',
    scope_version: '1.0.0',
    scope_attributes: {},
    span_attributes: { workflow_id: 'wf-snowflake-001' },
    events: [],
    links: [],
    service: 'arda',
    env: 'dev',
    workflow_id: 'wf-snowflake-001',
    circuit_id: '',
    product_id: '',
    resource_id: '',
    resource_type_id: '',
    request_id: '',
    error_code: '',
    gen_ai_input_tokens: 0,
    gen_ai_output_tokens: 0,
    redacted_count: 0,
    ...overrides,
  };
}
