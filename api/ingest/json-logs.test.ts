import { LogContractSchema } from '../../processors/json-log/contract';
import { BadParameterError } from '../errors';
import { parseWith } from '../http/params';
import { fromBatch, logBatchSchema, singleLogSchema } from './json-logs';

describe('POST /api/logs batch mapping', () => {
  it('turns each record into one contract record with resource fields, extra fields and labels as attrs', () => {
    const batch = parseWith(logBatchSchema(10), {
      resource: { service: 'beorn', host: 'h1', env: 'dev' },
      records: [
        {
          timestamp: '2025-10-15T10:30:00.000Z',
          severity: 'WARNING',
          message: 'Operation started',
          trace_id: '4BF92F3577B34DA6A3CE929D0E0E4736',
          circuit_id: 'CIRCUIT-123',
          product_id: 'PROD-456',
          labels: { operation: 'start' },
        },
        { timestamp: 1_760_524_200_000, message: 'no severity' },
      ],
    });
    const records = fromBatch(batch);
    expect(records).toEqual([
      {
        timestamp: '2025-10-15T10:30:00.000Z',
        service: 'beorn',
        level: 'WARNING',
        message: 'Operation started',
        trace_id: '4BF92F3577B34DA6A3CE929D0E0E4736',
        span_id: null,
        product_id: 'PROD-456',
        attrs: { host: 'h1', env: 'dev', circuit_id: 'CIRCUIT-123', operation: 'start' },
      },
      {
        timestamp: 1_760_524_200_000,
        service: 'beorn',
        level: 'info',
        message: 'no severity',
        trace_id: null,
        span_id: null,
        attrs: { host: 'h1', env: 'dev' },
      },
    ]);
    // What the API produces is what the json-log processor accepts.
    for (const record of records) expect(LogContractSchema.safeParse(record).success).toBe(true);
  });

  it('names the bad field', () => {
    const record = (o: object) => ({ timestamp: '2025-10-15T10:30:00Z', message: 'm', ...o });
    const batch =
      (records: object[], max = 10) =>
      () =>
        parseWith(logBatchSchema(max), { resource: { service: 'a' }, records });
    expect(batch([record({}), record({ timestamp: 'soon' })])).toThrow(BadParameterError);
    expect(batch([record({}), record({ timestamp: 'soon' })])).toThrow(/^records\[1\]\.timestamp: /);
    expect(batch([record({}), record({})], 1)).toThrow(/^records: /);
    expect(batch([record({ trace_id: 'xyz' })])).toThrow(/^records\[0\]\.trace_id: /);
    expect(batch([record({ severity: 'loud' })])).toThrow(/^records\[0\]\.severity: /);
    expect(() => parseWith(logBatchSchema(1), { records: [] })).toThrow(/^resource: /);
  });
});

describe('POST /api/ingest/log', () => {
  it('validates with the contract and keeps unknown fields', () => {
    const record = parseWith(singleLogSchema, {
      timestamp: '2025-01-15T10:30:45.123Z',
      service: 'order-service',
      level: 'error',
      message: 'Product price is null',
      error_code: 'PRICE_MISSING',
      workflow_id: 'wf-1',
    });
    expect(record).toMatchObject({ service: 'order-service', workflow_id: 'wf-1' });
    expect(() =>
      parseWith(singleLogSchema, { timestamp: '2025-01-15T10:30:45Z', level: 'info', message: 'x' }),
    ).toThrow(/^service: /);
    expect(() =>
      parseWith(singleLogSchema, {
        timestamp: '2025-01-15T10:30:45Z',
        service: 's',
        level: 'loud',
        message: 'x',
      }),
    ).toThrow(/^level: /);
  });
});
