import * as generatedRoot from '../otlp/proto';
import { CUSTOM_LOGGER_HEADERS, encodeContractLog, orderLogEntry } from '../../app/demo/custom-logger';
import {
  buildScenario,
  contentTypeHeader,
  contractLogMessage,
  encodeLogs,
  encodeSpans,
  seededRandom,
} from '../../test/support/otlp-fixtures';
import type { MessageHeaders } from '../otlp/decode';
import type {
  OtlpJsonAnyValue,
  OtlpJsonKeyValue,
  OtlpJsonLogRecord,
  OtlpJsonLogsRequest,
  OtlpJsonSpan,
  OtlpJsonTracesRequest,
} from '../otlp/otlp-json-types';
import { logsMessageToOtlpJson, tracesMessageToOtlpJson } from '../otlp/to-otlp-json';
import { createRecordPipeline, type RecordPipelineConfig } from '../pipeline';
import type { LogRecord, SourcePosition, SpanRecord } from '../records';
import { redactOtlpJsonLogs, redactOtlpJsonTraces } from './redact-otlp-json';
import { createRedactor, REDACTED } from './redactor';

const config: RecordPipelineConfig = {
  redaction: { keys: ['user_id', 'session_id'], patterns: [{ name: 'iban', pattern: 'DE\\d{20}' }] },
};
const pipeline = createRecordPipeline(config);
const redactor = createRedactor(config.redaction);
const position: SourcePosition = { topic: 'otel-logs', partition: 2, offset: '77' };

/** Every secret planted below; none may survive in a redacted document. */
const SECRETS = [
  'hunter2',
  'sk_live_51Habc',
  '4111 1111 1111 1111',
  '4111111111111111',
  '5555555555554444',
  'jane@example.com',
  'ops@example.com',
  '123-45-6789',
  'eyJhbGciOiJIUzI1NiJ9',
  'DE44500105175407324931',
  'sess-9f8e7d',
  'user-',
];

/** Values that look numeric or secret-ish but are not secrets; they must survive redaction. */
const KEEP = {
  uuid: '6f1c1c8e-5a3b-4b0e-9f57-3e2d7a0f1b2c',
  nonLuhn: '4111111111111112',
  nanos: '1768473000531000000',
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  spanId: '00f067aa0ba902b7',
};

const str = (stringValue: string): OtlpJsonAnyValue => ({ stringValue });
const kv = (key: string, value: OtlpJsonAnyValue): OtlpJsonKeyValue => ({ key, value });
const kvlist = (values: OtlpJsonKeyValue[]): OtlpJsonAnyValue => ({ kvlistValue: { values } });
const array = (values: OtlpJsonAnyValue[]): OtlpJsonAnyValue => ({ arrayValue: { values } });

/** Log records and spans with secrets in every place the pipeline redacts, plus values it must keep. */
function secretLogs(): OtlpJsonLogsRequest {
  const log = (body: OtlpJsonAnyValue | undefined, attributes: OtlpJsonKeyValue[]): OtlpJsonLogRecord => ({
    timeUnixNano: KEEP.nanos,
    severityNumber: 17,
    severityText: 'ERROR',
    ...(body && { body }),
    attributes,
    traceId: KEEP.traceId,
    spanId: KEEP.spanId,
  });
  return {
    resourceLogs: [
      {
        resource: {
          attributes: [
            kv('service.name', str('beorn')),
            kv('db.password', str('hunter2')),
            kv('service.owner', str('ops@example.com')),
          ],
        },
        scopeLogs: [
          {
            scope: { name: 'beorn.payments', attributes: [kv('team.contact', str('ops@example.com'))] },
            logRecords: [
              log(str('card 4111 1111 1111 1111 declined for jane@example.com'), [
                kv('request_id', str('jane@example.com')),
                kv('order.uuid', str(KEEP.uuid)),
                kv('order.ref', str(KEEP.nonLuhn)),
              ]),
              // Redactable leaf by leaf: the body stays a map.
              log(
                kvlist([
                  kv('event', str('login')),
                  kv(
                    'user',
                    kvlist([kv('email', str('jane@example.com')), kv('api_key', str('sk_live_51Habc'))]),
                  ),
                  kv('password', str('hunter2')),
                  kv('cards', array([str('4111 1111 1111 1111'), str('5555555555554444')])),
                  kv('attempt', { intValue: '2' }),
                  kv('ok', { boolValue: false }),
                ]),
                [kv('http.request.header.authorization', str('Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig'))],
              ),
              // The rendered text's redaction crosses JSON syntax here (a bare number under a sensitive
              // key, a card as a JSON number): the body becomes the pipeline's redacted string.
              log(
                kvlist([
                  kv('session_id', { intValue: '987654' }),
                  kv('pan', { intValue: '4111111111111111' }),
                ]),
                [kv('iban', str('DE44500105175407324931')), kv('user_id', str('user-7'))],
              ),
              // Non-string attribute values, a repeated key (only the last is normalized) and no body.
              log(undefined, [
                kv('note', str('ssn 123-45-6789')),
                kv('note', str('ok')),
                kv('ctx', kvlist([kv('session_id', str('sess-9f8e7d')), kv('n', { doubleValue: 1.5 })])),
                kv('numbers', array([str('4111111111111111'), { intValue: KEEP.nanos }])),
                kv('card', { intValue: '4111111111111111' }),
              ]),
            ],
          },
        ],
      },
      {
        resource: { attributes: [kv('service.name', str('arda'))] },
        scopeLogs: [
          { scope: { name: 'arda.app' }, logRecords: [log(str('all fine'), [kv('ref', str(KEEP.uuid))])] },
        ],
      },
    ],
  };
}

function secretTraces(): OtlpJsonTracesRequest {
  const span = (spanId: string, extra: Partial<OtlpJsonSpan>): OtlpJsonSpan => ({
    traceId: KEEP.traceId,
    spanId,
    name: 'POST /pay',
    kind: 2,
    startTimeUnixNano: KEEP.nanos,
    endTimeUnixNano: '1768473000599000000',
    ...extra,
  });
  return {
    resourceSpans: [
      {
        resource: { attributes: [kv('service.name', str('beorn')), kv('deploy.token', str('hunter2'))] },
        scopeSpans: [
          {
            scope: { name: 'beorn.http', attributes: [kv('owner', str('ops@example.com'))] },
            spans: [
              span(KEEP.spanId, {
                attributes: [
                  kv('user.email', str('jane@example.com')),
                  kv('request_id', str('ssn 123-45-6789')),
                  kv('payload', kvlist([kv('api_key', str('sk_live_51Habc')), kv('id', str(KEEP.uuid))])),
                ],
                events: [
                  {
                    timeUnixNano: KEEP.nanos,
                    name: 'exception',
                    attributes: [kv('exception.message', str('card 4111-1111-1111-1111 rejected'))],
                  },
                  { timeUnixNano: KEEP.nanos, name: 'retry', attributes: [kv('attempt', { intValue: '1' })] },
                ],
                links: [
                  {
                    traceId: KEEP.traceId,
                    spanId: '1111111111111111',
                    attributes: [kv('cookie', str('sid=abc')), kv('by', str('jane@example.com'))],
                  },
                ],
                status: { code: 2, message: 'payment for jane@example.com failed: 5555555555554444' },
              }),
              span('2222222222222222', {
                parentSpanId: KEEP.spanId,
                attributes: [kv('n', { intValue: KEEP.nonLuhn }), kv('ref', str(KEEP.uuid))],
                status: { code: 1 },
              }),
            ],
          },
        ],
      },
    ],
  };
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The same document for protobuf encoding: ids as bytes (everything else protobufjs takes as it is). */
function idsAsBytes(node: Json): unknown {
  if (Array.isArray(node)) return node.map(idsAsBytes);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node).map(([key, value]) => [
      key,
      /^(traceId|spanId|parentSpanId)$/.test(key) && typeof value === 'string'
        ? Buffer.from(value, 'hex')
        : idsAsBytes(value),
    ]),
  );
}

interface ProtoType {
  encode(message: unknown): { finish(): Uint8Array };
}
const proto = (
  generatedRoot as unknown as {
    opentelemetry: {
      proto: {
        collector: {
          logs: { v1: { ExportLogsServiceRequest: ProtoType } };
          trace: { v1: { ExportTraceServiceRequest: ProtoType } };
        };
      };
    };
  }
).opentelemetry.proto.collector;

/** A document as an otel-logs/otel-traces message in both encodings. */
function messages(document: object, type: ProtoType): Record<'json' | 'protobuf', Buffer> {
  return {
    json: Buffer.from(JSON.stringify(document)),
    protobuf: Buffer.from(type.encode(idsAsBytes(document as Json)).finish()),
  };
}

function expectNoSecrets(document: object): void {
  const text = JSON.stringify(document);
  for (const secret of SECRETS) expect(text).not.toContain(secret);
}

/**
 * The equivalence: redacting the archived form and running it through the pipeline (which redacts again)
 * yields the records the pipeline makes of the original, and counts what the pipeline counts.
 */
function expectLogsEquivalent(message: Buffer, headers: MessageHeaders | undefined): number {
  const original = pipeline.logs(message, headers, position);
  expect(original.errors).toEqual([]);
  const archived = logsMessageToOtlpJson(message, headers);
  const before = JSON.stringify(archived);
  const redacted = redactOtlpJsonLogs(redactor, archived);
  expect(JSON.stringify(archived)).toBe(before);
  expect(redacted.count).toBe(original.redacted);
  const replayed = pipeline.logs(Buffer.from(JSON.stringify(redacted.value)), undefined, position);
  expect(replayed.errors).toEqual([]);
  expect(replayed.redacted).toBe(0);
  expect(replayed.records).toEqual(
    original.records.map((r): LogRecord => ({ ...r, source: 'otlp_json', redacted_count: 0 })),
  );
  return redacted.count;
}

function expectTracesEquivalent(message: Buffer): number {
  const original = pipeline.spans(message, undefined);
  expect(original.errors).toEqual([]);
  const archived = tracesMessageToOtlpJson(message);
  const before = JSON.stringify(archived);
  const redacted = redactOtlpJsonTraces(redactor, archived);
  expect(JSON.stringify(archived)).toBe(before);
  expect(redacted.count).toBe(original.redacted);
  const replayed = pipeline.spans(Buffer.from(JSON.stringify(redacted.value)), undefined);
  expect(replayed.errors).toEqual([]);
  expect(replayed.redacted).toBe(0);
  expect(replayed.records).toEqual(original.records.map((r): SpanRecord => ({ ...r, redacted_count: 0 })));
  return redacted.count;
}

describe('redactOtlpJsonLogs / redactOtlpJsonTraces: equivalence with the record pipeline', () => {
  const scenario = buildScenario({ traces: 8, seed: 11, errorRate: 0.5 });

  it.each(['otlp_proto', 'otlp_json'] as const)('scenario logs (%s)', (encoding) => {
    const counts = encodeLogs(scenario.logs, { encoding, batchSize: 6 }).map((m) =>
      expectLogsEquivalent(m, contentTypeHeader(encoding)),
    );
    // The configured `user_id` key redacts the scenario's DEBUG logs.
    expect(counts.reduce((a, b) => a + b)).toBe(scenario.traces.length);
  });

  it.each(['otlp_proto', 'otlp_json'] as const)('scenario spans (%s)', (encoding) => {
    for (const message of encodeSpans(scenario.spans, { encoding, batchSize: 7 })) {
      expect(expectTracesEquivalent(message)).toBe(0);
      const archived = tracesMessageToOtlpJson(message);
      expect(redactOtlpJsonTraces(redactor, archived).value).toBe(archived);
    }
  });

  it('contract JSON log records, with and without secrets', () => {
    scenario.traces.forEach((trace) =>
      expectLogsEquivalent(encodeContractLog(orderLogEntry(trace, 'dev').record), CUSTOM_LOGGER_HEADERS),
    );
    const message = contractLogMessage({
      message: 'refund to 4111 1111 1111 1111 for jane@example.com',
      request_id: 'jane@example.com',
      password: 'hunter2',
      attrs: { creds: { api_key: 'sk_live_51Habc', user: 'jane@example.com' }, ssn: '123-45-6789' },
    });
    expect(expectLogsEquivalent(message, undefined)).toBeGreaterThan(0);
    expectNoSecrets(redactOtlpJsonLogs(redactor, logsMessageToOtlpJson(message)).value);
  });

  it.each(['json', 'protobuf'] as const)('hand-picked logs with secrets everywhere (%s)', (encoding) => {
    const message = messages(secretLogs(), proto.logs.v1.ExportLogsServiceRequest)[encoding];
    expect(expectLogsEquivalent(message, undefined)).toBeGreaterThan(15);
    const { value } = redactOtlpJsonLogs(redactor, logsMessageToOtlpJson(message));
    expectNoSecrets(value);
    const text = JSON.stringify(value);
    for (const kept of Object.values(KEEP)) expect(text).toContain(kept);
  });

  it.each(['json', 'protobuf'] as const)('hand-picked spans with secrets everywhere (%s)', (encoding) => {
    const message = messages(secretTraces(), proto.trace.v1.ExportTraceServiceRequest)[encoding];
    expect(expectTracesEquivalent(message)).toBeGreaterThan(8);
    const { value } = redactOtlpJsonTraces(redactor, tracesMessageToOtlpJson(message));
    expectNoSecrets(value);
    const text = JSON.stringify(value);
    for (const kept of Object.values(KEEP)) expect(text).toContain(kept);
  });
});

describe('redactOtlpJsonLogs', () => {
  const redacted = () => redactOtlpJsonLogs(redactor, secretLogs()).value;
  const logAt = (request: OtlpJsonLogsRequest, i: number) =>
    request.resourceLogs![0]!.scopeLogs![0]!.logRecords![i]!;

  it('keeps a map body structured when its leaves can be redacted one by one', () => {
    expect(logAt(redacted(), 1).body).toEqual(
      kvlist([
        kv('event', str('login')),
        kv('user', kvlist([kv('email', str('[REDACTED:email]')), kv('api_key', str(REDACTED))])),
        kv('password', str(REDACTED)),
        kv('cards', array([str('[REDACTED:credit_card]'), str('[REDACTED:credit_card]')])),
        kv('attempt', { intValue: '2' }),
        kv('ok', { boolValue: false }),
      ]),
    );
  });

  it("turns a body into the pipeline's redacted string when the JSON text redacts differently", () => {
    expect(logAt(redacted(), 2).body).toEqual(str('{"session_id":[REDACTED],"pan":[REDACTED:credit_card]}'));
  });

  it('redacts attribute values by key and by text, nested maps included, and every repeated key', () => {
    expect(logAt(redacted(), 3).attributes).toEqual([
      kv('note', str('ssn [REDACTED:ssn]')),
      kv('note', str('ok')),
      kv('ctx', kvlist([kv('session_id', str(REDACTED)), kv('n', { doubleValue: 1.5 })])),
      kv('numbers', array([str('[REDACTED:credit_card]'), { intValue: KEEP.nanos }])),
      kv('card', str('[REDACTED:credit_card]')),
    ]);
    expect(redacted().resourceLogs![0]!.scopeLogs![0]!.scope!.attributes).toEqual([
      kv('team.contact', str('[REDACTED:email]')),
    ]);
  });

  it('counts shared resource values once per record, like the pipeline', () => {
    const request: OtlpJsonLogsRequest = {
      resourceLogs: [
        {
          resource: { attributes: [kv('secret', str('x'))] },
          scopeLogs: [{ logRecords: [{ body: str('a') }, { body: str('b') }, { body: str('c') }] }],
        },
      ],
    };
    const result = redactOtlpJsonLogs(redactor, request);
    expect(result.count).toBe(3);
    expect(result.value.resourceLogs![0]!.resource!.attributes).toEqual([kv('secret', str(REDACTED))]);
  });

  it('never mutates the input and shares what it did not change', () => {
    const request = secretLogs();
    const before = JSON.stringify(request);
    const { value } = redactOtlpJsonLogs(redactor, request);
    expect(JSON.stringify(request)).toBe(before);
    expect(value).not.toBe(request);
    expect(value.resourceLogs![1]).toBe(request.resourceLogs![1]);
    const [original, copy] = [logAt(request, 0), logAt(value, 0)];
    expect(copy.attributes![1]).toBe(original.attributes![1]);
    expect(copy.body).not.toBe(original.body);
    const clean = { resourceLogs: [request.resourceLogs![1]!] };
    expect(redactOtlpJsonLogs(redactor, clean)).toEqual({ value: clean, count: 0 });
    expect(redactOtlpJsonLogs(redactor, clean).value).toBe(clean);
  });
});

describe('redactOtlpJsonTraces', () => {
  it('redacts span, event and link attributes, status messages and scope attributes, not names or ids', () => {
    const request = secretTraces();
    const { value } = redactOtlpJsonTraces(redactor, request);
    const scopeSpans = value.resourceSpans![0]!.scopeSpans![0]!;
    const [span, child] = scopeSpans.spans!;
    expect(value.resourceSpans![0]!.resource!.attributes![1]).toEqual(kv('deploy.token', str(REDACTED)));
    expect(scopeSpans.scope!.attributes).toEqual([kv('owner', str('[REDACTED:email]'))]);
    expect(span!.attributes).toEqual([
      kv('user.email', str('[REDACTED:email]')),
      kv('request_id', str('ssn [REDACTED:ssn]')),
      kv('payload', kvlist([kv('api_key', str(REDACTED)), kv('id', str(KEEP.uuid))])),
    ]);
    expect(span!.events![0]!.attributes).toEqual([
      kv('exception.message', str('card [REDACTED:credit_card] rejected')),
    ]);
    expect(span!.events![1]).toBe(request.resourceSpans![0]!.scopeSpans![0]!.spans![0]!.events![1]);
    expect(span!.links![0]!.attributes).toEqual([
      kv('cookie', str(REDACTED)),
      kv('by', str('[REDACTED:email]')),
    ]);
    expect(span!.status).toEqual({
      code: 2,
      message: 'payment for [REDACTED:email] failed: [REDACTED:credit_card]',
    });
    expect(span!.name).toBe('POST /pay');
    expect(child).toBe(request.resourceSpans![0]!.scopeSpans![0]!.spans![1]);
  });
});

describe('equivalence on generated values', () => {
  const LEAVES = [
    'jane@example.com',
    'hunter2',
    '4111 1111 1111 1111',
    '4111111111111111',
    '123-45-6789',
    'password=pw-abc',
    'token: tk-xyz',
    'Bearer bearer-abcdefghijk',
    REDACTED,
    '',
    'say "hi" to jane@example.com',
    'line\nbob@example.com',
    'back\\slash 123-45-6789',
    'DE44500105175407324931',
    '{"api_key":"k-123"}',
    "it's 4111-1111-1111-1111, ok",
    KEEP.uuid,
    KEEP.nonLuhn,
    'plain',
  ];
  const KEYS = [
    'password',
    'api_key',
    'db password',
    'user',
    'note',
    '1',
    '__proto__',
    'jane@example.com',
    'token_count',
    'x-api-key',
    'session_id',
    'Authorization',
  ];
  /**
   * Secrets the leaves above carry whatever their place (not `hunter2`, a secret only under a sensitive
   * key). The pipeline may keep one, e.g. where the rendered JSON hides it from a pattern, but the
   * archive must not hold one the records do not.
   */
  const PLANTED = [
    'jane@example.com',
    'bob@example.com',
    '4111 1111',
    '4111-1111',
    '4111111111111111',
    '123-45-6789',
    'pw-abc',
    'tk-xyz',
    'bearer-abcdefghijk',
    'DE44500105175407324931',
    'k-123',
  ];
  const random = seededRandom(20260115);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

  function value(depth: number): OtlpJsonAnyValue {
    const r = random();
    if (depth > 0 && r < 0.2)
      return array(Array.from({ length: Math.floor(random() * 4) }, () => value(depth - 1)));
    if (depth > 0 && r < 0.4) return kvlist(keyValues(depth - 1));
    if (r < 0.5)
      return pick<OtlpJsonAnyValue>([
        { intValue: '4111111111111111' },
        { intValue: '-7' },
        { doubleValue: 1.5 },
        { doubleValue: 'NaN' },
        { boolValue: true },
        { bytesValue: 'AQI=' },
        {},
      ]);
    return str(pick(LEAVES));
  }
  function keyValues(depth: number): OtlpJsonKeyValue[] {
    return Array.from({ length: Math.floor(random() * 4) }, () => kv(pick(KEYS), value(depth)));
  }

  it('redacts generated bodies and attributes exactly like the pipeline and leaks nothing it does not', () => {
    for (let i = 0; i < 150; i++) {
      const request: OtlpJsonLogsRequest = {
        resourceLogs: [
          {
            resource: { attributes: keyValues(2) },
            scopeLogs: [
              {
                scope: { attributes: keyValues(1) },
                logRecords: Array.from({ length: 3 }, () => ({
                  timeUnixNano: KEEP.nanos,
                  body: value(3),
                  attributes: [...keyValues(2), kv('request_id', value(0))],
                })),
              },
            ],
          },
        ],
      };
      const message = Buffer.from(JSON.stringify(request));
      expectLogsEquivalent(message, undefined);
      const kept = JSON.stringify(pipeline.logs(message, undefined, position).records);
      const archived = JSON.stringify(redactOtlpJsonLogs(redactor, logsMessageToOtlpJson(message)).value);
      for (const secret of PLANTED) if (!kept.includes(secret)) expect(archived).not.toContain(secret);
    }
  });
});
