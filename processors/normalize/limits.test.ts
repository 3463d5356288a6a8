import { RecordLimitsError } from '../errors';
import type { OtlpAnyValue, OtlpKeyValue, OtlpLogsRequest, OtlpTracesRequest } from '../otlp/types';
import type { SourcePosition } from '../records';
import { normalizeLogs } from './index';
import { normalizeJsonLog } from './json-log';
import {
  DEFAULT_RECORD_LIMITS,
  fitString,
  jsonBytes,
  maxSerializedRecordBytes,
  resolveRecordLimits,
  TRUNCATED_ATTRIBUTE,
} from './limits';
import { normalizeOtlpLogs } from './logs';
import { normalizeOtlpSpans } from './spans';

const position: SourcePosition = { topic: 'otel-logs', partition: 0, offset: '7' };
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const KiB = 1024;

const str = (stringValue: string): OtlpAnyValue => ({ stringValue });
const attrs = (count: number, value: (i: number) => string): OtlpKeyValue[] =>
  Array.from({ length: count }, (_, i) => ({ key: `k${i}`, value: str(value(i)) }));
/** Control characters: 1 byte on the wire, 6 in JSON. */
const controls = (n: number) => '\u0001'.repeat(n);

function logsRequest(log: Record<string, unknown>, extra: Record<string, unknown> = {}): OtlpLogsRequest {
  return {
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: str('beorn') }] },
        scopeLogs: [{ scope: { name: 'test' }, logRecords: [{ timeUnixNano: '1', ...log }] }],
        ...extra,
      },
    ],
  } as OtlpLogsRequest;
}

function oneLog(log: Record<string, unknown>) {
  const batch = normalizeOtlpLogs(logsRequest(log), 'otlp_json', position);
  expect(batch.errors).toEqual([]);
  return batch.records[0]!;
}

function marker(attributes: Record<string, string>): Record<string, unknown> {
  return JSON.parse(attributes[TRUNCATED_ATTRIBUTE]!) as Record<string, unknown>;
}

function serializedBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}

describe('jsonBytes / fitString', () => {
  it('counts what JSON.stringify makes of a string', () => {
    const printable = Array.from({ length: 0x5f }, (_, i) => String.fromCharCode(0x20 + i)).join('');
    for (const s of [
      'plain',
      printable,
      `${printable}\u007f`,
      'quote " and \\',
      'ends in a quote"',
      '\u0001\n\t',
      'line\n',
      'é€😀',
      '\ud800 lone',
      '',
    ]) {
      expect(jsonBytes(s)).toBe(serializedBytes(s) - 2);
    }
  });

  it('cuts to the longest prefix that fits, never inside a surrogate pair', () => {
    expect(fitString('abc😀d', 5)).toEqual({ value: 'abc', bytes: 3, cutFrom: 8 });
    expect(fitString('abc', 3)).toEqual({ value: 'abc', bytes: 3 });
    expect(fitString('abcd', 3)).toEqual({ value: 'abc', bytes: 3, cutFrom: 4 });
    expect(fitString('a"b', 2)).toEqual({ value: 'a', bytes: 1, cutFrom: 4 });
  });
});

describe('record limits at normalization', () => {
  it('truncates a body of control characters to the bound in JSON bytes and marks it', () => {
    const record = oneLog({ body: str(controls(180 * KiB)) });
    expect(jsonBytes(record.body)).toBeLessThanOrEqual(DEFAULT_RECORD_LIMITS.maxBodyBytes);
    expect(record.body.length).toBe(Math.floor(DEFAULT_RECORD_LIMITS.maxBodyBytes / 6));
    expect(marker(record.log_attributes)).toEqual({ body: 6 * 180 * KiB });
    expect(serializedBytes(record)).toBeLessThan(300 * KiB);
  });

  it('keeps a record within the limits unchanged and unmarked', () => {
    const record = oneLog({ body: str('hello'), attributes: attrs(3, (i) => `v${i}`) });
    expect(record.body).toBe('hello');
    expect(record.log_attributes).toEqual({ k0: 'v0', k1: 'v1', k2: 'v2' });
  });

  it('truncates long attribute values and drops attributes past the count, later duplicates winning', () => {
    const many = [
      ...attrs(200, (i) => (i === 3 ? 'x'.repeat(40 * KiB) : 'v')),
      { key: 'k0', value: str('last') },
    ];
    const record = oneLog({ attributes: many });
    const { [TRUNCATED_ATTRIBUTE]: _marker, ...kept } = record.log_attributes;
    expect(Object.keys(kept)).toHaveLength(128);
    expect(kept.k0).toBe('last');
    expect(kept.k3).toHaveLength(16 * KiB);
    expect(marker(record.log_attributes)).toEqual({
      'log_attributes.k3': 40 * KiB,
      dropped: { log_attributes: 72 },
    });
  });

  it('renders values nested past the depth bound as null instead of overflowing the stack', () => {
    let deep: OtlpAnyValue = str('bottom');
    for (let i = 0; i < 100_000; i++) deep = { arrayValue: { values: [deep] } };
    const record = oneLog({ body: deep, attributes: [{ key: 'deep', value: deep }] });
    expect(record.body).toBe(`${'['.repeat(32)}null${']'.repeat(32)}`);
    expect(record.log_attributes.deep).toBe(record.body);
    expect(Object.keys(marker(record.log_attributes))).toEqual([
      'body (deeper than 32)',
      'log_attributes.deep (deeper than 32)',
    ]);
  });

  it('keeps the worst log record within maxSerializedRecordBytes', () => {
    const huge = (i: number) => controls(20 * KiB + i);
    const request = logsRequest(
      { body: str(controls(1024 * KiB)), attributes: attrs(500, huge), severityText: controls(50 * KiB) },
      { resource: { attributes: attrs(500, huge) }, schemaUrl: controls(50 * KiB) },
    );
    request.resourceLogs![0]!.scopeLogs![0]!.scope = {
      name: controls(50 * KiB),
      version: controls(50 * KiB),
      attributes: attrs(500, huge),
    };
    // Promoted custom attributes copy attribute values: give every one of them a huge value.
    for (const key of ['env', 'workflow_id', 'circuit_id', 'product_id', 'resource_id', 'request_id']) {
      request.resourceLogs![0]!.scopeLogs![0]!.logRecords![0]!.attributes!.unshift({
        key,
        value: str(huge(0)),
      });
    }
    const { records, errors } = normalizeOtlpLogs(request, 'otlp_json', position);
    expect(errors).toEqual([]);
    expect(serializedBytes(records[0])).toBeLessThanOrEqual(maxSerializedRecordBytes(DEFAULT_RECORD_LIMITS));
    expect(records[0]!.log_attributes[TRUNCATED_ATTRIBUTE]!.length).toBeLessThan(4 * KiB);
  });

  it('keeps the worst span within maxSerializedRecordBytes, dropping events and links past the budget', () => {
    const huge = () => controls(20 * KiB);
    const event = { timeUnixNano: '1', name: controls(30 * KiB), attributes: attrs(200, huge) };
    const link = {
      traceId: TRACE_ID,
      spanId: SPAN_ID,
      traceState: controls(30 * KiB),
      attributes: attrs(200, huge),
    };
    const request = {
      resourceSpans: [
        {
          resource: { attributes: attrs(500, huge) },
          scopeSpans: [
            {
              scope: { name: controls(50 * KiB), attributes: attrs(500, huge) },
              spans: [
                {
                  traceId: TRACE_ID,
                  spanId: SPAN_ID,
                  name: controls(50 * KiB),
                  status: { message: controls(50 * KiB) },
                  attributes: attrs(500, huge),
                  events: Array.from({ length: 300 }, () => event),
                  links: Array.from({ length: 300 }, () => link),
                },
              ],
            },
          ],
        },
      ],
    } as OtlpTracesRequest;
    const { records, errors } = normalizeOtlpSpans(request);
    expect(errors).toEqual([]);
    const span = records[0]!;
    expect(serializedBytes(span)).toBeLessThanOrEqual(maxSerializedRecordBytes(DEFAULT_RECORD_LIMITS));
    const dropped = marker(span.span_attributes).dropped as Record<string, number>;
    expect(dropped.events! + span.events.length).toBe(300);
    expect(dropped.links).toBe(300);
  });

  it('makes a record with a non-string string field a record error, keeping the others', () => {
    const request = logsRequest({ body: { stringValue: { nested: 1 } } });
    request.resourceLogs![0]!.scopeLogs![0]!.logRecords!.push({ timeUnixNano: '2', body: str('fine') });
    const { records, errors } = normalizeOtlpLogs(request, 'otlp_json', position);
    expect(records.map((r) => r.body)).toEqual(['fine']);
    expect(errors).toEqual([
      { index: 0, reason: 'invalid_record', message: 'body.stringValue must be a string' },
    ]);
    const spans = normalizeOtlpSpans({
      resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: TRACE_ID, spanId: SPAN_ID, name: 42 }] }] }],
    } as unknown as OtlpTracesRequest);
    expect(spans.errors[0]).toMatchObject({ reason: 'invalid_record', message: 'name must be a string' });
  });

  it('makes a time after 2262 (past ClickHouse DateTime64(9)) a record error, keeping the others', () => {
    const request = logsRequest({ timeUnixNano: '9223372036854775808' });
    request.resourceLogs![0]!.scopeLogs![0]!.logRecords!.push({ timeUnixNano: '9223372036854775807' });
    const { records, errors } = normalizeOtlpLogs(request, 'otlp_json', position);
    expect(records.map((r) => r.time_unix_nano)).toEqual(['9223372036854775807']);
    expect(errors).toEqual([
      {
        index: 0,
        reason: 'invalid_record',
        message: 'timeUnixNano is after 2262-04-11, the latest time a record can carry',
      },
    ]);
    const span = normalizeOtlpSpans({
      resourceSpans: [
        {
          scopeSpans: [{ spans: [{ traceId: TRACE_ID, spanId: SPAN_ID, endTimeUnixNano: '1'.repeat(25) }] }],
        },
      ],
    } as OtlpTracesRequest);
    expect(span.errors[0]).toMatchObject({
      reason: 'invalid_record',
      message: expect.stringMatching(/^endTimeUnixNano is after/),
    });
    const contract = normalizeLogs(
      { format: 'json_log', record: { timestamp: 1e300, service: 'beorn', level: 'info', message: 'm' } },
      position,
    );
    expect(contract).toEqual({
      records: [],
      errors: [
        {
          index: 0,
          reason: 'invalid_record',
          message: 'timestamp is after 2262-04-11, the latest time a record can carry',
        },
      ],
    });
  });

  it('bounds a contract log record: its message, its attributes and their nesting', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const record = normalizeJsonLog(
      {
        timestamp: 1,
        service: 'beorn',
        level: 'info',
        message: controls(300 * KiB),
        attrs: { deep },
        big: 'y'.repeat(20 * KiB),
      },
      position,
    );
    expect(jsonBytes(record.body)).toBeLessThanOrEqual(DEFAULT_RECORD_LIMITS.maxBodyBytes);
    expect(record.log_attributes.deep).toBe(`${'['.repeat(32)}null${']'.repeat(32)}`);
    expect(record.log_attributes.big).toHaveLength(16 * KiB);
    expect(Object.keys(marker(record.log_attributes))).toEqual([
      'body',
      'log_attributes.deep (deeper than 32)',
      'log_attributes.big',
    ]);
  });
});

describe('resolveRecordLimits', () => {
  it('fills defaults and rejects bounds that would let a record near 1 MiB', () => {
    expect(resolveRecordLimits({ maxAttributes: 10 })).toEqual({
      ...DEFAULT_RECORD_LIMITS,
      maxAttributes: 10,
    });
    expect(() => resolveRecordLimits({ maxRecordBytes: 900 * KiB })).toThrow(RecordLimitsError);
    expect(() => resolveRecordLimits({ maxBodyBytes: 600 * KiB })).toThrow(/maxBodyBytes/);
    expect(() => resolveRecordLimits({ maxAttributes: 0 })).toThrow(/maxAttributes/);
  });
});
