import { buildScenario, encodeLogs, encodeSpans, type ReadableLogRecord } from '../../app/demo/otlp-scenario';
import { DEFAULT_RECORD_LIMITS, TRUNCATED_ATTRIBUTE } from '../../processors/normalize';
import { createRecordPipeline } from '../../processors/pipeline';
import {
  startPipelineHarness,
  type OutgoingMessage,
  type PipelineHarness,
  type Produced,
} from '../support/pipeline-harness';

// Issue 9: records built to hurt the pipeline, through Kafka into a StackLens started through the
// composition root: 80 KB bodies and attribute values shaped to make the old redaction pattern
// backtrack (quadratic: 22 s each), a 180 KB body of control characters (≈1.1 MB as JSON in a
// repartition topic, over Kafka's limit, which stopped the pipeline for good), bodies and attribute
// maps over every bound, nesting 20 000 levels deep. Each must land truncated and marked, with its
// secrets redacted; the valid records around them must land; the pipeline must commit everything,
// and the hostile logs, which share a valid trace, must reach the trace correlator through the
// repartition topics.

const KiB = 1024;
const JSON_HEADERS = { 'content-type': 'application/json' };
const now = Date.now();
const scenario = buildScenario({
  traces: 8,
  seed: 21,
  errorRate: 0.5,
  startMs: now - 20_000,
  intervalMs: 100,
});
const trace = scenario.spans[0]!.spanContext();
const TRACE_ID = trace.traceId;
const SPAN_ID = trace.spanId;

type Json = Record<string, unknown>;
const str = (stringValue: string) => ({ stringValue });
const kv = (key: string, value: unknown) => ({ key, value });

/** One OTLP/JSON logs request holding one log of the valid trace, with the given body and attributes. */
function jsonLog(body: unknown, attributes: Json[] = [], resourceAttributes: Json[] = []): Buffer {
  return Buffer.from(
    JSON.stringify({
      resourceLogs: [
        {
          resource: { attributes: [kv('service.name', str('hostile')), ...resourceAttributes] },
          scopeLogs: [
            {
              scope: { name: 'hostile' },
              logRecords: [
                {
                  timeUnixNano: String(BigInt(now - 5_000) * 1_000_000n),
                  severityNumber: 17,
                  traceId: TRACE_ID,
                  spanId: SPAN_ID,
                  body,
                  attributes,
                },
              ],
            },
          ],
        },
      ],
    }),
  );
}

/** `depth` nested AnyValue arrays, as JSON text with a placeholder for them in `document`. */
function withDeepValue(document: Buffer, depth: number): Buffer {
  const deep = `${'{"arrayValue":{"values":['.repeat(depth)}{"stringValue":"bottom"}${']}}'.repeat(depth)}`;
  return Buffer.from(document.toString('utf8').replace('{"stringValue":"__DEEP__"}', deep));
}

const SECRET = 'hunter2-secret';
const hostileLogs: Record<string, Buffer> = {
  'an 80 KB word run before a password': jsonLog(str(`${'a'.repeat(80 * KiB)} password=${SECRET}`)),
  'an 80 KB dashed run in an attribute value before a token': jsonLog(str('dashed attribute'), [
    kv('note', str(`${'a-'.repeat(40 * KiB)} token=${SECRET}`)),
  ]),
  'a 16 KB dashed run in an attribute value before a token': jsonLog(str('dashed attribute'), [
    kv('note', str(`${'a-'.repeat(8 * KiB - 16)} token=${SECRET}`)),
  ]),
  'an 80 KB unclosed quote before an api key': jsonLog(str(`x:"${'a '.repeat(40 * KiB)} api_key=${SECRET}`)),
  'a 700 KB body': jsonLog(str(`${'lorem ipsum '.repeat(60 * KiB)}`)),
  '2 000 attributes of 200 bytes': jsonLog(
    str('many attributes'),
    Array.from({ length: 2_000 }, (_, i) => kv(`attr.${i}`, str('v'.repeat(200)))),
  ),
  'a 5 000-attribute resource': jsonLog(
    str('huge resource'),
    [],
    Array.from({ length: 5_000 }, (_, i) => kv(`res.${i}`, str('r'.repeat(60)))),
  ),
  'a body nested 20 000 levels deep': withDeepValue(jsonLog(str('__DEEP__')), 20_000),
};

/** A 180 KB body of control characters, as protobuf (its JSON form would be over 1 MiB already). */
function controlCharacterLog(): Buffer {
  const log = scenario.logs.find((l) => l.spanContext?.traceId === TRACE_ID)!;
  const hostile: ReadableLogRecord = {
    hrTime: log.hrTime,
    hrTimeObserved: log.hrTimeObserved,
    spanContext: log.spanContext,
    severityText: log.severityText,
    severityNumber: log.severityNumber,
    body: '\u0001'.repeat(180 * KiB),
    resource: log.resource,
    instrumentationScope: log.instrumentationScope,
    attributes: log.attributes,
    droppedAttributesCount: 0,
  };
  return encodeLogs([hostile], { encoding: 'otlp_proto' })[0]!;
}

/** A span of the valid trace with 2 000 events of 300-byte attributes. */
function spanWithManyEvents(): Buffer {
  const event = {
    timeUnixNano: String(BigInt(now) * 1_000_000n),
    name: 'e',
    attributes: [kv('payload', str('p'.repeat(300)))],
  };
  return Buffer.from(
    JSON.stringify({
      resourceSpans: [
        {
          resource: { attributes: [kv('service.name', str('hostile'))] },
          scopeSpans: [
            {
              scope: { name: 'hostile' },
              spans: [
                {
                  traceId: TRACE_ID,
                  spanId: 'abcdefabcdef0001',
                  parentSpanId: SPAN_ID,
                  name: 'many events',
                  startTimeUnixNano: String(BigInt(now - 4_000) * 1_000_000n),
                  endTimeUnixNano: String(BigInt(now - 3_000) * 1_000_000n),
                  events: Array.from({ length: 2_000 }, () => event),
                },
              ],
            },
          ],
        },
      ],
    }),
  );
}

jest.setTimeout(300_000);

describe('hostile records through the running pipeline', () => {
  let h: PipelineHarness;
  const hostile = new Map<string, Produced>();
  const validLogs: Produced[] = [];
  let validSpans: Produced[] = [];
  let spanWithEvents: Produced;

  beforeAll(async () => {
    h = await startPipelineHarness('hostile');
    const logBatches = encodeLogs(scenario.logs, { encoding: 'otlp_proto', batchSize: 2 });
    // Valid batches before and after each hostile message, all on one partition: the hostile ones
    // sit in the middle of the stream the valid ones must get through.
    const outgoing: { name?: string; message: OutgoingMessage }[] = [];
    const entries = [
      ...Object.entries(hostileLogs),
      ['a 180 KB body of control characters', controlCharacterLog()] as const,
    ];
    entries.forEach(([name, value], i) => {
      outgoing.push({ message: { value: logBatches[i % logBatches.length]!, partition: 0 } });
      outgoing.push({
        name,
        message: { value, partition: 0, headers: name.includes('control') ? undefined : JSON_HEADERS },
      });
    });
    outgoing.push(...logBatches.map((value) => ({ message: { value, partition: 0 } })));
    const producedLogs = await h.produce(
      h.topics.logs,
      outgoing.map((o) => o.message),
    );
    producedLogs.forEach((p, i) => {
      const name = outgoing[i]!.name;
      if (name === undefined) validLogs.push(p);
      else hostile.set(name, p);
    });
    const spanBatches = encodeSpans(scenario.spans, { encoding: 'otlp_proto', batchSize: 3 });
    const producedSpans = await h.produce(h.topics.traces, [
      ...spanBatches.map((value) => ({ value, partition: 1 })),
      { value: spanWithManyEvents(), partition: 1, headers: JSON_HEADERS },
    ]);
    validSpans = producedSpans.slice(0, -1);
    spanWithEvents = producedSpans.at(-1)!;
    await h.waitFor(
      'the pipeline, the ClickHouse application and the archive to commit every input message',
      () => h.caughtUp(),
    );
  }, 300_000);

  afterAll(async () => h?.stop(), 120_000);

  async function landedLog(name: string): Promise<{
    Body: string;
    LogAttributes: Record<string, string>;
    ResourceAttributes: Record<string, string>;
  }> {
    const p = hostile.get(name)!;
    const rows = await h.query<{
      Body: string;
      LogAttributes: Record<string, string>;
      ResourceAttributes: Record<string, string>;
    }>(
      `SELECT Body, LogAttributes, ResourceAttributes FROM otel_logs WHERE StackLensRecordId = '${p.topic}:${p.partition}:${p.offset}:0'`,
    );
    expect(rows).toHaveLength(1);
    return rows[0]!;
  }

  const truncated = (attributes: Record<string, string>) =>
    JSON.parse(attributes[TRUNCATED_ATTRIBUTE] ?? '{}') as Record<string, unknown>;

  it('lands every valid record produced around the hostile ones', async () => {
    const records = createRecordPipeline();
    const ids = validLogs.flatMap((p) => records.logs(p.value, undefined, p).records.map((r) => r.id));
    const rows = await h.query<{ id: string }>('SELECT StackLensRecordId AS id FROM otel_logs');
    const landed = new Set(rows.map((r) => r.id));
    expect(ids.filter((id) => !landed.has(id))).toEqual([]);
    const spans = validSpans.flatMap((p) =>
      records.spans(p.value, undefined).records.map((s) => `${s.trace_id}/${s.span_id}`),
    );
    const spanRows = await h.query<{ id: string }>(
      "SELECT concat(TraceId, '/', SpanId) AS id FROM otel_traces",
    );
    const landedSpans = new Set(spanRows.map((r) => r.id));
    expect(spans.filter((id) => !landedSpans.has(id))).toEqual([]);
    expect(h.deadLetters).toEqual([]);
  });

  it('redacts the secrets after 80 KB runs built to make redaction backtrack', async () => {
    const word = await landedLog('an 80 KB word run before a password');
    expect(word.Body).not.toContain(SECRET);
    expect(word.Body.endsWith('password=[REDACTED]')).toBe(true);
    // An attribute value is cut to RECORD_MAX_ATTRIBUTE_VALUE_BYTES before redaction sees it...
    const dashed = await landedLog('an 80 KB dashed run in an attribute value before a token');
    expect(dashed.LogAttributes.note).toHaveLength(DEFAULT_RECORD_LIMITS.maxAttributeValueBytes);
    expect(truncated(dashed.LogAttributes)['log_attributes.note']).toBe(
      80 * KiB + ' token='.length + SECRET.length,
    );
    // ...and one within it, the same shape, is redacted.
    const within = await landedLog('a 16 KB dashed run in an attribute value before a token');
    expect(within.LogAttributes.note!.endsWith(' token=[REDACTED]')).toBe(true);
    const quote = await landedLog('an 80 KB unclosed quote before an api key');
    expect(quote.Body).not.toContain(SECRET);
  });

  it('truncates oversized bodies to the bound in JSON bytes and marks them', async () => {
    const control = await landedLog('a 180 KB body of control characters');
    expect(control.Body).toBe('\u0001'.repeat(Math.floor(DEFAULT_RECORD_LIMITS.maxBodyBytes / 6)));
    expect(truncated(control.LogAttributes)).toEqual({ body: 6 * 180 * KiB });
    const big = await landedLog('a 700 KB body');
    expect(big.Body).toHaveLength(DEFAULT_RECORD_LIMITS.maxBodyBytes);
    expect(truncated(big.LogAttributes).body).toBe(12 * 60 * KiB);
  });

  it('drops attributes past the count, in the record and in its resource, and counts them', async () => {
    const many = await landedLog('2 000 attributes of 200 bytes');
    expect(Object.keys(many.LogAttributes)).toHaveLength(DEFAULT_RECORD_LIMITS.maxAttributes + 1);
    expect(truncated(many.LogAttributes).dropped).toEqual({
      log_attributes: 2_000 - DEFAULT_RECORD_LIMITS.maxAttributes,
    });
    const resource = await landedLog('a 5 000-attribute resource');
    expect(Object.keys(resource.ResourceAttributes)).toHaveLength(DEFAULT_RECORD_LIMITS.maxAttributes);
    expect(truncated(resource.LogAttributes).dropped).toEqual({
      resource_attributes: 5_001 - DEFAULT_RECORD_LIMITS.maxAttributes,
    });
  });

  it('renders a value nested past the depth bound as null', async () => {
    const deep = await landedLog('a body nested 20 000 levels deep');
    expect(deep.Body).toBe(`${'['.repeat(32)}null${']'.repeat(32)}`);
    expect(Object.keys(truncated(deep.LogAttributes))).toEqual(['body (deeper than 32)']);
  });

  it('keeps a span with 2 000 events within the bounds', async () => {
    const rows = await h.query<{ events: string; attrs: Record<string, string> }>(
      `SELECT length(Events.Name) AS events, SpanAttributes AS attrs FROM otel_traces WHERE SpanId = 'abcdefabcdef0001'`,
    );
    expect(rows).toHaveLength(1);
    expect(Number(rows[0]!.events)).toBe(DEFAULT_RECORD_LIMITS.maxAttributes);
    expect(truncated(rows[0]!.attrs).dropped).toEqual({
      events: 2_000 - DEFAULT_RECORD_LIMITS.maxAttributes,
    });
    expect(spanWithEvents.offset).toBeDefined();
  });

  it('passes the hostile logs through the repartition topics to the trace correlator', async () => {
    // Every hostile log and the valid ones of the trace are folded into its correlation.
    const wanted = hostile.size + scenario.logs.filter((l) => l.spanContext?.traceId === TRACE_ID).length;
    await h.waitFor('the correlation of the trace the hostile logs share', async () => {
      const rows = await h.query<{ n: number }>(
        `SELECT max(log_count) AS n FROM stacklens_correlations WHERE trace_id = '${TRACE_ID}'`,
      );
      return Number(rows[0]?.n ?? 0) >= wanted;
    });
  });
});
