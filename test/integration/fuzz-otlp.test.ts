import type { IHeaders } from 'kafkajs';
import { buildScenario, encodeLogs, encodeSpans } from '../../app/demo/otlp-scenario';
import { createRecordPipeline } from '../../processors/pipeline';
import { HEADER } from '../../topology';
import {
  deadLettersOf,
  startPipelineHarness,
  type OutgoingMessage,
  type PipelineHarness,
  type Produced,
} from '../support/pipeline-harness';

// Issue 9: a few thousand malformed OTLP messages (protobuf and JSON, generated from a fixed seed)
// go through the real topics, interleaved with valid ones, into a StackLens started through the
// composition root. Each message must end up where the record pipeline says it should: its records
// in ClickHouse, its bad records or the whole message in the DLQ with a reason; none may stop the
// pipeline, which must commit everything, and every valid record must land.

const MALFORMED = 2_400;
const PARTITIONS = 3;

/** mulberry32: a small deterministic PRNG, so every run generates the same messages. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Signal = 'logs' | 'traces';
type Json = Record<string, unknown>;

const random = prng(9);
const int = (n: number) => Math.floor(random() * n);
const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;

const startMs = Date.now() - 60_000;
const base = buildScenario({ traces: 30, seed: 7, errorRate: 0.3, startMs, intervalMs: 50 });
const valid = buildScenario({ traces: 40, seed: 8, errorRate: 0.3, startMs, intervalMs: 50 });
const bases: Record<Signal, { proto: Buffer[]; json: Buffer[] }> = {
  logs: {
    proto: encodeLogs(base.logs, { encoding: 'otlp_proto', batchSize: 4 }),
    json: encodeLogs(base.logs, { encoding: 'otlp_json', batchSize: 4 }),
  },
  traces: {
    proto: encodeSpans(base.spans, { encoding: 'otlp_proto', batchSize: 4 }),
    json: encodeSpans(base.spans, { encoding: 'otlp_json', batchSize: 4 }),
  },
};

const WRONG_VALUES: readonly unknown[] = [
  42,
  -1,
  1.5,
  'text',
  '',
  true,
  null,
  [],
  [1, 'a'],
  {},
  { stringValue: 7 },
  '9'.repeat(400),
  1e308,
];
const HUGE_NUMBERS: readonly unknown[] = [
  '9'.repeat(300),
  '18446744073709551615',
  '18446744073709551616',
  1e308,
  -1,
  '-5',
  '1e999',
  Number.MAX_SAFE_INTEGER + 2,
];
const BAD_IDS: readonly unknown[] = [
  'zz',
  '0'.repeat(32),
  'g'.repeat(32),
  'a'.repeat(31),
  'a'.repeat(33),
  'AAECAwQFBgcICQoLDA0ODw==',
  12345,
  { hex: 'ab' },
];

/** Every object and array inside `value`, with the key that holds each child, for random edits. */
function slots(value: unknown, out: { holder: Json | unknown[]; key: string | number }[] = []) {
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      out.push({ holder: value, key: i });
      slots(v, out);
    });
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      out.push({ holder: value as Json, key: k });
      slots(v, out);
    }
  }
  return out;
}

function setAt(slot: { holder: Json | unknown[]; key: string | number }, value: unknown): void {
  (slot.holder as Record<string | number, unknown>)[slot.key] = value;
}

/** Slots whose key is one of `names` (times, ids, ...), or any slot when there is none. */
function slotsNamed(doc: unknown, names: readonly string[]) {
  const all = slots(doc);
  const named = all.filter((s) => typeof s.key === 'string' && names.includes(s.key));
  return named.length > 0 ? named : all;
}

/** `depth` nested AnyValue arrays as JSON text (built as text: JSON.stringify would recurse as deep). */
function deepAnyValue(depth: number): string {
  return `${'{"arrayValue":{"values":['.repeat(depth)}{"stringValue":"bottom"}${']}}'.repeat(depth)}`;
}

function mutateProto(bytes: Buffer): Buffer {
  const copy = Buffer.from(bytes);
  switch (int(5)) {
    case 0: // truncated
      return copy.subarray(0, 1 + int(Math.max(1, copy.length - 1)));
    case 1: // bit flips
      for (let i = 1 + int(8); i > 0; i--) copy[int(copy.length)]! ^= 1 << int(8);
      return copy;
    case 2: // a tag's wire type changed (the first byte is a tag; other positions often are)
      for (const at of [0, int(copy.length), int(copy.length)]) copy[at] = (copy[at]! & 0xf8) | int(8);
      return copy;
    case 3: // random bytes
      return Buffer.from(Array.from({ length: 1 + int(2048) }, () => int(256)));
    default: // a length prefix that promises more than the message holds
      return Buffer.concat([
        copy.subarray(0, 1),
        Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]),
        copy.subarray(2),
      ]);
  }
}

function mutateJson(bytes: Buffer, signal: Signal): Buffer {
  const doc = JSON.parse(bytes.toString('utf8')) as Json;
  const top = signal === 'logs' ? 'resourceLogs' : 'resourceSpans';
  switch (int(7)) {
    case 0: // a wrong type anywhere
      for (let i = 1 + int(3); i > 0; i--) setAt(pick(slots(doc)), pick(WRONG_VALUES));
      return Buffer.from(JSON.stringify(doc));
    case 1: // huge and negative numbers where times, enums and values go
      setAt(
        pick(
          slotsNamed(doc, [
            'timeUnixNano',
            'startTimeUnixNano',
            'endTimeUnixNano',
            'observedTimeUnixNano',
            'severityNumber',
            'kind',
            'intValue',
            'doubleValue',
            'flags',
          ]),
        ),
        pick(HUGE_NUMBERS),
      );
      return Buffer.from(JSON.stringify(doc));
    case 2: // deep nesting in a body or attribute value
      setAt(pick(slotsNamed(doc, ['body', 'value'])), '__DEEP__');
      return Buffer.from(JSON.stringify(doc).replace('"__DEEP__"', deepAnyValue(500 + int(20_000))));
    case 3: // invalid ids
      setAt(pick(slotsNamed(doc, ['traceId', 'spanId', 'parentSpanId'])), pick(BAD_IDS));
      return Buffer.from(JSON.stringify(doc));
    case 4: // the top-level array of another shape
      doc[top] = pick([{}, 'x', 3, [null], [[[]]], [{ scopeLogs: 'x', scopeSpans: 5 }]]);
      return Buffer.from(JSON.stringify(doc));
    case 5: // truncated text or invalid UTF-8
      return int(2) === 0
        ? bytes.subarray(0, 1 + int(bytes.length - 1))
        : Buffer.concat([bytes.subarray(0, int(bytes.length)), Buffer.from([0xff, 0xfe, 0xc3])]);
    default: // not an object at all
      return Buffer.from(pick(['[]', '123', 'null', '"text"', '{}', '{"resourceLogs":null}', ' ']));
  }
}

function headersFor(json: boolean): IHeaders | undefined {
  const roll = random();
  if (roll < 0.02) return { 'content-type': 'text/plain' };
  if (roll < 0.5) return undefined; // sniffed, as the Collector's Kafka exporter sends them
  return { 'content-type': json ? 'application/json' : 'application/x-protobuf' };
}

function malformed(signal: Signal): OutgoingMessage {
  const json = int(2) === 0;
  const source = pick(bases[signal][json ? 'json' : 'proto']);
  return {
    value: json ? mutateJson(source, signal) : mutateProto(source),
    partition: int(PARTITIONS),
    headers: headersFor(json),
  };
}

/** The valid messages, and the malformed ones between them, per signal in production order. */
function messages(signal: Signal): { outgoing: OutgoingMessage[]; validIndexes: Set<number> } {
  const validValues =
    signal === 'logs'
      ? encodeLogs(valid.logs, { encoding: int(2) === 0 ? 'otlp_proto' : 'otlp_json', batchSize: 3 })
      : encodeSpans(valid.spans, { encoding: int(2) === 0 ? 'otlp_proto' : 'otlp_json', batchSize: 3 });
  const outgoing: OutgoingMessage[] = [];
  const validIndexes = new Set<number>();
  const bad = MALFORMED / 2;
  const every = Math.ceil(bad / validValues.length);
  for (let i = 0, v = 0; i < bad || v < validValues.length; i++) {
    if (i % every === 0 && v < validValues.length) {
      validIndexes.add(outgoing.length);
      outgoing.push({ value: validValues[v++]!, partition: int(PARTITIONS) });
    }
    if (i < bad) outgoing.push(malformed(signal));
  }
  return { outgoing, validIndexes };
}

interface Expected {
  logIds: Set<string>;
  spanIds: Set<string>;
  validLogIds: Set<string>;
  validSpanIds: Set<string>;
  /** Dead letters each message must get: 1 when it is undecodable, else one per bad record. */
  deadLetters: Map<Produced, number>;
}

/** What the pipeline must make of each message: the same record pipeline, run here. */
function expectations(
  h: PipelineHarness,
  produced: Record<Signal, Produced[]>,
  validOf: Record<Signal, Set<number>>,
): Expected {
  const records = createRecordPipeline({ limits: h.config.records, redaction: h.config.redaction });
  const expected: Expected = {
    logIds: new Set(),
    spanIds: new Set(),
    validLogIds: new Set(),
    validSpanIds: new Set(),
    deadLetters: new Map(),
  };
  for (const signal of ['logs', 'traces'] as const) {
    produced[signal].forEach((m, i) => {
      const headers = m.headers as Record<string, Buffer | string> | undefined;
      try {
        if (signal === 'logs') {
          const result = records.logs(m.value, headers, m);
          for (const r of result.records) {
            expected.logIds.add(r.id);
            if (validOf.logs.has(i)) expected.validLogIds.add(r.id);
          }
          expected.deadLetters.set(m, result.errors.length);
        } else {
          const result = records.spans(m.value, headers);
          for (const r of result.records) {
            expected.spanIds.add(`${r.trace_id}/${r.span_id}`);
            if (validOf.traces.has(i)) expected.validSpanIds.add(`${r.trace_id}/${r.span_id}`);
          }
          expected.deadLetters.set(m, result.errors.length);
        }
      } catch {
        expected.deadLetters.set(m, 1);
      }
    });
  }
  return expected;
}

jest.setTimeout(600_000);

describe('fuzzed OTLP through the running pipeline', () => {
  let h: PipelineHarness;
  let expected: Expected;
  const produced: Record<Signal, Produced[]> = { logs: [], traces: [] };

  beforeAll(async () => {
    // Generated before the pipeline starts, and the model run after it has caught up: both are
    // synchronous, and the pipeline shares this process's event loop.
    const logs = messages('logs');
    const traces = messages('traces');
    h = await startPipelineHarness('fuzz');
    // Interleaved in chunks, so both inputs carry hostile and valid messages at once.
    for (let i = 0; i < Math.max(logs.outgoing.length, traces.outgoing.length); i += 200) {
      produced.logs.push(...(await h.produce(h.topics.logs, logs.outgoing.slice(i, i + 200))));
      produced.traces.push(...(await h.produce(h.topics.traces, traces.outgoing.slice(i, i + 200))));
    }
    await h.waitFor(
      'the pipeline and the archive to commit every input message',
      () => h.caughtUp(),
      480_000,
    );
    expected = expectations(h, produced, { logs: logs.validIndexes, traces: traces.validIndexes });
  }, 600_000);

  afterAll(async () => h?.stop(), 120_000);

  it('generated thousands of malformed messages, most of them unusable as a whole', () => {
    const total = produced.logs.length + produced.traces.length;
    expect(total).toBeGreaterThanOrEqual(MALFORMED);
    const undecodable = [...expected.deadLetters.values()].filter((n) => n > 0).length;
    expect(undecodable).toBeGreaterThan(MALFORMED / 2);
    expect(expected.validLogIds.size).toBe(valid.logs.length);
    expect(expected.validSpanIds.size).toBe(valid.spans.length);
  });

  it('lands every record the pipeline can read, valid ones included, and no other', async () => {
    const logRows = await h.query<{ id: string }>('SELECT StackLensRecordId AS id FROM otel_logs');
    const landedLogs = new Set(logRows.map((r) => r.id));
    expect([...expected.validLogIds].filter((id) => !landedLogs.has(id))).toEqual([]);
    expect([...landedLogs].sort()).toEqual([...expected.logIds].sort());
    const spanRows = await h.query<{ id: string }>(
      "SELECT concat(TraceId, '/', SpanId) AS id FROM otel_traces",
    );
    const landedSpans = new Set(spanRows.map((r) => r.id));
    expect([...expected.validSpanIds].filter((id) => !landedSpans.has(id))).toEqual([]);
    expect([...landedSpans].sort()).toEqual([...expected.spanIds].sort());
  });

  it('dead-letters every undecodable message and every bad record, each with its reason', async () => {
    const wanted = [...expected.deadLetters.values()].reduce((a, b) => a + b, 0);
    await h.waitFor(`${wanted} dead letters`, () => h.deadLetters.length >= wanted, 120_000);
    const wrong: string[] = [];
    for (const [m, count] of expected.deadLetters) {
      const got = deadLettersOf(h.deadLetters, m);
      if (got.length !== count)
        wrong.push(`${m.topic}:${m.partition}:${m.offset} got ${got.length}, want ${count}`);
    }
    expect(wrong).toEqual([]);
    expect(h.deadLetters).toHaveLength(wanted);
    expect(h.deadLetters.filter((d) => (d.headers[HEADER.error] ?? '') === '')).toEqual([]);
  });
});
