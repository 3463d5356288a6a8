import * as generatedRoot from './proto';
import { CUSTOM_LOGGER_HEADERS, encodeContractLog, orderLogEntry } from '../../app/demo/custom-logger';
import {
  buildScenario,
  contentTypeHeader,
  contractLogMessage,
  encodeLogs,
  encodeSpans,
  type OtlpKafkaEncoding,
} from '../../test/support/otlp-fixtures';
import { DecodeError } from '../errors';
import { createRecordPipeline } from '../pipeline';
import type { LogRecord, SourcePosition } from '../records';
import type { MessageHeaders } from './decode';
import type { OtlpJsonLogsRequest, OtlpJsonTracesRequest } from './otlp-json-types';
import { logsMessageToOtlpJson, MAX_DOCUMENT_DEPTH, tracesMessageToOtlpJson } from './to-otlp-json';

const scenario = buildScenario({ traces: 6, seed: 5, errorRate: 0.5 });
const pipeline = createRecordPipeline();
const position = (offset: number): SourcePosition => ({
  topic: 'otel-logs',
  partition: 1,
  offset: String(offset),
});
const encodings: OtlpKafkaEncoding[] = ['otlp_proto', 'otlp_json'];

/** The converted request as the archive stores it, read back as an otel-logs/otel-traces message. */
const asMessage = (request: OtlpJsonLogsRequest | OtlpJsonTracesRequest) =>
  Buffer.from(JSON.stringify(request), 'utf8');

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every `key: value` pair of a JSON document, depth first. */
function* entries(node: Json): Generator<[string, Json]> {
  if (Array.isArray(node)) for (const item of node) yield* entries(item);
  else if (node !== null && typeof node === 'object')
    for (const [key, value] of Object.entries(node)) {
      yield [key, value];
      yield* entries(value);
    }
}

/** A copy of a JSON document with `edit` applied to every object (bottom-up). */
function mapObjects(node: Json, edit: (object: { [key: string]: Json }) => { [key: string]: Json }): Json {
  if (Array.isArray(node)) return node.map((item) => mapObjects(item, edit));
  if (node === null || typeof node !== 'object') return node;
  const copy: { [key: string]: Json } = {};
  for (const [key, value] of Object.entries(node)) copy[key] = mapObjects(value, edit);
  return edit(copy);
}

function decodeError(fn: () => unknown): DecodeError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DecodeError) return error;
    throw error;
  }
  throw new Error('expected a DecodeError');
}

function roundTripLogs(message: Buffer, headers: MessageHeaders | undefined, at: SourcePosition): void {
  const original = pipeline.logs(message, headers, at);
  expect(original.errors).toEqual([]);
  expect(original.records.length).toBeGreaterThan(0);
  const archived = pipeline.logs(asMessage(logsMessageToOtlpJson(message, headers)), undefined, at);
  expect(archived.errors).toEqual([]);
  expect(archived.records).toEqual(original.records.map((r): LogRecord => ({ ...r, source: 'otlp_json' })));
}

describe('OTLP messages to canonical OTLP/JSON', () => {
  it.each(encodings)('round trip: %s logs normalize to the same LogRecords after conversion', (encoding) => {
    const messages = encodeLogs(scenario.logs, { encoding, batchSize: 7 });
    expect(messages.length).toBeGreaterThan(1);
    messages.forEach((message, i) => roundTripLogs(message, contentTypeHeader(encoding), position(i)));
  });

  it.each(encodings)(
    'round trip: %s spans normalize to the same SpanRecords after conversion',
    (encoding) => {
      const messages = encodeSpans(scenario.spans, { encoding, batchSize: 9 });
      expect(messages.length).toBeGreaterThan(1);
      for (const message of messages) {
        const original = pipeline.spans(message, undefined);
        expect(original.errors).toEqual([]);
        expect(original.records.length).toBeGreaterThan(0);
        const archived = pipeline.spans(asMessage(tracesMessageToOtlpJson(message)), undefined);
        expect(archived.errors).toEqual([]);
        expect(archived.records).toEqual(original.records);
      }
    },
  );

  // The JS serializer writes AnyValue.intValue as a JSON number (it has no 64-bit type); everything else
  // it writes is already the canonical mapping, which the conversion keeps as it is.
  const withStringInts = (document: Json) =>
    mapObjects(document, (o) =>
      typeof o.intValue === 'number' ? { ...o, intValue: String(o.intValue) } : o,
    );

  it('an OTLP/JSON logs message converts to the official serializer output, with string intValues', () => {
    const [message] = encodeLogs(scenario.logs, { encoding: 'otlp_json' });
    const serialized = JSON.parse(message!.toString('utf8')) as Json;
    expect(logsMessageToOtlpJson(message)).toStrictEqual(withStringInts(serialized));
  });

  it('an OTLP/JSON traces message converts to the official serializer output, with string intValues', () => {
    const [message] = encodeSpans(scenario.spans, { encoding: 'otlp_json' });
    const serialized = JSON.parse(message!.toString('utf8')) as Json;
    expect([...entries(serialized)].some(([key, v]) => key === 'intValue' && typeof v === 'number')).toBe(
      true,
    );
    expect(tracesMessageToOtlpJson(message)).toStrictEqual(withStringInts(serialized));
  });

  it('protobuf and OTLP/JSON messages of the same telemetry convert alike, but for the empty lists only JSON can carry', () => {
    const withoutEmptyLists = (document: Json) =>
      mapObjects(document, (o) =>
        Object.fromEntries(Object.entries(o).filter(([, v]) => !(Array.isArray(v) && v.length === 0))),
      );
    const convert = <T>(fn: (m: Buffer) => T, [proto, json]: Buffer[][]) => [
      fn(proto![0]!) as Json,
      withoutEmptyLists(fn(json![0]!) as Json),
    ];
    const [protoLogs, jsonLogs] = convert(
      logsMessageToOtlpJson,
      encodings.map((encoding) => encodeLogs(scenario.logs, { encoding })),
    );
    expect(protoLogs).toStrictEqual(jsonLogs);
    const [protoSpans, jsonSpans] = convert(
      tracesMessageToOtlpJson,
      encodings.map((encoding) => encodeSpans(scenario.spans, { encoding })),
    );
    expect(protoSpans).toStrictEqual(jsonSpans);
    // Spans without events or links have none in the protobuf conversion.
    expect([...entries(protoSpans!)].some(([key, v]) => key === 'events' && Array.isArray(v))).toBe(true);
    expect([...entries(protoSpans!)].filter(([key]) => key === 'spanId').length).toBeGreaterThan(
      [...entries(protoSpans!)].filter(([key]) => key === 'events').length,
    );
  });

  it.each(encodings)('%s: ids are lowercase hex and 64-bit integers decimal strings', (encoding) => {
    const documents = [
      logsMessageToOtlpJson(encodeLogs(scenario.logs, { encoding })[0]),
      tracesMessageToOtlpJson(encodeSpans(scenario.spans, { encoding })[0]),
    ].map((d) => JSON.parse(JSON.stringify(d)) as Json);
    const seen = new Set<string>();
    for (const [key, value] of documents.flatMap((d) => [...entries(d)])) {
      seen.add(key);
      if (key === 'traceId') expect(value).toMatch(/^[0-9a-f]{32}$/);
      if (key === 'spanId' || key === 'parentSpanId') expect(value).toMatch(/^[0-9a-f]{16}$/);
      if (key.endsWith('UnixNano')) expect(value).toMatch(/^[1-9]\d{18}$/);
      if (key === 'intValue') expect(value).toMatch(/^-?\d+$/);
      if (key === 'kind' || key === 'severityNumber' || key === 'code') expect(typeof value).toBe('number');
    }
    for (const key of ['traceId', 'parentSpanId', 'timeUnixNano', 'startTimeUnixNano', 'intValue', 'kind'])
      expect(seen).toContain(key);
  });

  it('canonicalizes the looser forms OTLP/JSON parsers accept, and keeps fields it does not know', () => {
    const message = Buffer.from(
      JSON.stringify({
        resourceSpans: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'arda' } }] },
            scopeSpans: [
              {
                scope: { name: 's' },
                spans: [
                  {
                    traceId: '4BF92F3577B34DA6A3CE929D0E0E4736',
                    spanId: '00F067AA0BA902B7',
                    parentSpanId: '0000000000000000',
                    name: 'GET /x',
                    kind: 'SPAN_KIND_SERVER',
                    startTimeUnixNano: 1768473000500000000n.toString().padStart(21, '0'),
                    endTimeUnixNano: 1768473000,
                    flags: 257,
                    attributes: [
                      { key: 'n', value: { intValue: 42 } },
                      { key: 'z', value: { intValue: '-007' } },
                      { key: 'd', value: { doubleValue: '2.5' } },
                      { key: 'nan', value: { doubleValue: 'NaN' } },
                      { key: 'b', value: { bytesValue: 'AQI=' } },
                    ],
                    events: [{ timeUnixNano: '1768473000600000000', name: 'e' }],
                    links: [{ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '1111111111111111' }],
                    status: { code: 'STATUS_CODE_ERROR', message: 'boom' },
                  },
                ],
              },
            ],
          },
        ],
      }),
    );
    expect(tracesMessageToOtlpJson(message)).toStrictEqual({
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'arda' } }] },
          scopeSpans: [
            {
              scope: { name: 's' },
              spans: [
                {
                  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
                  spanId: '00f067aa0ba902b7',
                  name: 'GET /x',
                  kind: 2,
                  startTimeUnixNano: '1768473000500000000',
                  endTimeUnixNano: '1768473000',
                  flags: 257,
                  attributes: [
                    { key: 'n', value: { intValue: '42' } },
                    { key: 'z', value: { intValue: '-7' } },
                    { key: 'd', value: { doubleValue: 2.5 } },
                    { key: 'nan', value: { doubleValue: 'NaN' } },
                    { key: 'b', value: { bytesValue: 'AQI=' } },
                  ],
                  events: [{ timeUnixNano: '1768473000600000000', name: 'e' }],
                  links: [{ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '1111111111111111' }],
                  status: { code: 2, message: 'boom' },
                },
              ],
            },
          ],
        },
      ],
    });
  });

  it('writes protobuf-only values (Longs beyond 2^53, negative ints, bytes, NaN) in their JSON forms', () => {
    const LogsRequest = (
      generatedRoot as unknown as {
        opentelemetry: {
          proto: {
            collector: {
              logs: { v1: { ExportLogsServiceRequest: { encode(m: object): { finish(): Uint8Array } } } };
            };
          };
        };
      }
    ).opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
    const bytes = LogsRequest.encode({
      resourceLogs: [
        {
          scopeLogs: [
            {
              logRecords: [
                {
                  timeUnixNano: '9223372036854775807', // the latest time ClickHouse stores
                  severityNumber: 17,
                  traceId: Buffer.from('4bf92f3577b34da6a3ce929d0e0e4736', 'hex'),
                  spanId: Buffer.alloc(8),
                  body: {
                    kvlistValue: {
                      values: [
                        { key: 'big', value: { intValue: '9007199254740993' } },
                        { key: 'min', value: { intValue: '-9223372036854775808' } },
                        { key: 'neg', value: { intValue: -5 } },
                        { key: 'nan', value: { doubleValue: NaN } },
                        { key: 'inf', value: { doubleValue: -Infinity } },
                        { key: 'raw', value: { bytesValue: Buffer.from([1, 2, 255]) } },
                        { key: 'list', value: { arrayValue: { values: [{ boolValue: false }, {}] } } },
                      ],
                    },
                  },
                },
              ],
            },
          ],
        },
      ],
    }).finish();
    const message = Buffer.from(bytes);
    const converted = logsMessageToOtlpJson(message);
    expect(converted).toStrictEqual({
      resourceLogs: [
        {
          scopeLogs: [
            {
              logRecords: [
                {
                  timeUnixNano: '9223372036854775807', // the latest time ClickHouse stores
                  severityNumber: 17,
                  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
                  body: {
                    kvlistValue: {
                      values: [
                        { key: 'big', value: { intValue: '9007199254740993' } },
                        { key: 'min', value: { intValue: '-9223372036854775808' } },
                        { key: 'neg', value: { intValue: '-5' } },
                        { key: 'nan', value: { doubleValue: 'NaN' } },
                        { key: 'inf', value: { doubleValue: '-Infinity' } },
                        { key: 'raw', value: { bytesValue: 'AQL/' } },
                        { key: 'list', value: { arrayValue: { values: [{ boolValue: false }, {}] } } },
                      ],
                    },
                  },
                },
              ],
            },
          ],
        },
      ],
    });
    roundTripLogs(message, undefined, position(3));
  });

  it('throws DecodeError for an undecodable message, like decode', () => {
    expect(decodeError(() => logsMessageToOtlpJson(Buffer.from('{"nope":1}'))).reason).toBe('unknown_format');
    expect(decodeError(() => tracesMessageToOtlpJson(undefined)).reason).toBe('empty');
    expect(decodeError(() => tracesMessageToOtlpJson(Buffer.from('{"resourceSpans":{}}'))).reason).toBe(
      'invalid_structure',
    );
  });

  it('throws DecodeError naming the place of a value the JSON mapping cannot represent', () => {
    const logs = (logRecords: unknown[]) =>
      Buffer.from(JSON.stringify({ resourceLogs: [{ scopeLogs: [{}, { logRecords }] }] }));
    const badId = decodeError(() => logsMessageToOtlpJson(logs([{}, { traceId: 'xyz' }])));
    expect(badId.reason).toBe('invalid_record');
    expect(badId.message).toBe(
      'resourceLogs[0].scopeLogs[1].logRecords[1]: traceId must be 32 hex characters',
    );
    const badInt = decodeError(() =>
      logsMessageToOtlpJson(logs([{ attributes: [{ key: 'k', value: { intValue: '1e3' } }] }])),
    );
    expect(badInt.message).toBe(
      'resourceLogs[0].scopeLogs[1].logRecords[0].attributes[0].value: intValue must be a decimal integer string',
    );
    const badList = decodeError(() => logsMessageToOtlpJson(logs([{ attributes: {} }])));
    expect(badList.reason).toBe('invalid_structure');
    expect(badList.message).toBe('resourceLogs[0].scopeLogs[1].logRecords[0].attributes: must be an array');
  });
});

describe('contract JSON log records to canonical OTLP/JSON', () => {
  it('wraps a record into a one-record ExportLogsServiceRequest', () => {
    const converted = logsMessageToOtlpJson(
      contractLogMessage({
        latency_ms: 12,
        ratio: 0.5,
        cached: true,
        attrs: { workflow_id: 'wf-1', retry: { n: 2 } },
      }),
    );
    expect(converted).toStrictEqual({
      resourceLogs: [
        {
          resource: {
            attributes: [
              { key: 'service.name', value: { stringValue: 'beorn' } },
              { key: 'service.version', value: { stringValue: '1.4.2' } },
            ],
          },
          scopeLogs: [
            {
              logRecords: [
                {
                  timeUnixNano: '1768473045123456000',
                  observedTimeUnixNano: '1768473045123456000',
                  severityNumber: 17,
                  severityText: 'ERROR',
                  body: { stringValue: 'Payment failed for order 1234' },
                  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
                  spanId: '00f067aa0ba902b7',
                  attributes: [
                    { key: 'workflow_id', value: { stringValue: 'wf-1' } },
                    {
                      key: 'retry',
                      value: { kvlistValue: { values: [{ key: 'n', value: { intValue: '2' } }] } },
                    },
                    { key: 'request_id', value: { stringValue: '6f1c1c8e-5a3b-4b0e-9f57-3e2d7a0f1b2c' } },
                    { key: 'error_code', value: { stringValue: 'PAYMENT_FAILURE' } },
                    { key: 'user_id', value: { stringValue: 'user-42' } },
                    { key: 'product_id', value: { stringValue: 'PROD-401' } },
                    { key: 'action', value: { stringValue: 'create_order' } },
                    { key: 'status', value: { stringValue: 'failure' } },
                    { key: 'latency_ms', value: { intValue: '12' } },
                    { key: 'ratio', value: { doubleValue: 0.5 } },
                    { key: 'cached', value: { boolValue: true } },
                  ],
                },
              ],
            },
          ],
        },
      ],
    });
  });

  it('round trip: the demo custom logger records normalize to the same LogRecords after conversion', () => {
    scenario.traces.forEach((trace, i) => {
      const message = encodeContractLog(orderLogEntry(trace, 'dev').record);
      const original = pipeline.logs(message, CUSTOM_LOGGER_HEADERS, position(i));
      expect(original.records[0]!.source).toBe('json_log');
      roundTripLogs(message, CUSTOM_LOGGER_HEADERS, position(i));
    });
  });

  it('round trip: odd values (nulls, arrays, shadowed attrs, epoch times, no trace context) survive', () => {
    const message = contractLogMessage({
      timestamp: 1768473045.5,
      level: 'WARNING',
      trace_id: undefined,
      span_id: null,
      user_id: null,
      tags: ['a', 1, null, { x: [] }],
      big: 2 ** 60,
      action: 'top-level wins',
      attrs: { action: 'shadowed', gone: null, nested: { a: null }, service: 'attrs-service' },
    });
    const converted = logsMessageToOtlpJson(message);
    const log = converted.resourceLogs![0]!.scopeLogs![0]!.logRecords![0]!;
    expect(log.traceId).toBeUndefined();
    expect(log.spanId).toBeUndefined();
    const attribute = (key: string) => log.attributes!.find((a) => a.key === key)?.value;
    expect(attribute('action')).toEqual({ stringValue: 'top-level wins' });
    expect(attribute('gone')).toEqual({ stringValue: 'null' });
    expect(attribute('big')).toEqual({ doubleValue: 2 ** 60 });
    expect(attribute('service')).toEqual({ stringValue: 'attrs-service' });
    expect(attribute('user_id')).toBeUndefined();
    roundTripLogs(message, undefined, position(7));
  });
});

describe('hostile messages for the archive', () => {
  it('refuses a message nested deeper than MAX_DOCUMENT_DEPTH with a DecodeError, without recursing', () => {
    const depth = 50_000;
    const deep = `${'{"arrayValue":{"values":['.repeat(depth)}{"stringValue":"x"}${']}}'.repeat(depth)}`;
    const message = Buffer.from(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":${deep}}]}]}]}`);
    expect(() => logsMessageToOtlpJson(message)).toThrow(DecodeError);
    expect(() => logsMessageToOtlpJson(message)).toThrow(`nested deeper than ${MAX_DOCUMENT_DEPTH} levels`);
    const spans = Buffer.from(
      `{"resourceSpans":[${'['.repeat(MAX_DOCUMENT_DEPTH + 1)}${']'.repeat(MAX_DOCUMENT_DEPTH + 1)}]}`,
    );
    expect(() => tracesMessageToOtlpJson(spans)).toThrow(DecodeError);
  });

  it('converts a message nested within the bound', () => {
    const deep = `${'{"arrayValue":{"values":['.repeat(100)}{"stringValue":"x"}${']}}'.repeat(100)}`;
    const message = Buffer.from(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":${deep}}]}]}]}`);
    expect(JSON.stringify(logsMessageToOtlpJson(message))).toContain('"stringValue":"x"');
  });
});
