import { createRedactor } from '../../processors/redact';
import type { OtlpJsonRequest } from '../../sinks/archive/archive-sink';
import { HEADER, type Serde } from '../../topology';
import { CollectingSink, TopologyTestDriver } from '../../topology/testing';
import { buildScenario, encodeLogs, encodeSpans } from '../../test/support/otlp-fixtures';
import { buildArchiveTopology } from './archive-topology';

const rawSerde: Serde<Buffer> = { serialize: (v) => v, deserialize: (d) => d ?? Buffer.alloc(0) };

function archive() {
  const sinks = {
    logs: new CollectingSink<Buffer | null, OtlpJsonRequest>('archive:logs'),
    traces: new CollectingSink<Buffer | null, OtlpJsonRequest>('archive:traces'),
  };
  const topology = buildArchiveTopology({
    topics: { logs: 'otel-logs', traces: 'otel-traces' },
    redactor: createRedactor(),
    sinks,
  });
  const driver = new TopologyTestDriver(topology, { applicationId: 'sl-archive' });
  const raw = { keySerde: rawSerde, valueSerde: rawSerde };
  return {
    driver,
    sinks,
    logs: driver.createInputTopic<Buffer, Buffer>('otel-logs', raw),
    traces: driver.createInputTopic<Buffer, Buffer>('otel-traces', raw),
    dlq: driver.createOutputTopic<Buffer, Buffer>(driver.dlqTopic, raw),
  };
}

describe('archive topology', () => {
  it('archives each message as canonical OTLP/JSON, one request per message', () => {
    const a = archive();
    const scenario = buildScenario({ traces: 3, seed: 5 });
    const logMessages = encodeLogs(scenario.logs, { encoding: 'otlp_proto', batchSize: 10 });
    const spanMessages = encodeSpans(scenario.spans, { encoding: 'otlp_proto', batchSize: 10 });
    for (const m of logMessages) a.logs.pipe(Buffer.alloc(0), m, 1_000);
    for (const m of spanMessages) a.traces.pipe(Buffer.alloc(0), m, 1_000);
    const logs = a.sinks.logs.buffered.map((w) => w.record.value);
    const spans = a.sinks.traces.buffered.map((w) => w.record.value);
    expect(logs).toHaveLength(logMessages.length);
    expect(spans).toHaveLength(spanMessages.length);
    const records = logs.flatMap((r) =>
      r.resourceLogs!.flatMap((rl) => rl.scopeLogs!.flatMap((s) => s.logRecords!)),
    );
    expect(records).toHaveLength(scenario.logs.length);
    expect(records.every((r) => /^[0-9a-f]{32}$/.test(r.traceId ?? ''))).toBe(true);
    expect(records.every((r) => typeof r.timeUnixNano === 'string')).toBe(true);
    a.driver.close();
  });

  it('redacts what the pipeline redacts before anything is archived', () => {
    const a = archive();
    const body = 'paid with 4111 1111 1111 1111, receipt to jane@example.com';
    const request = {
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'beorn' } }] },
          scopeLogs: [
            {
              logRecords: [
                {
                  timeUnixNano: '1768473000000000000',
                  body: { stringValue: body },
                  attributes: [{ key: 'password', value: { stringValue: 'hunter2' } }],
                },
              ],
            },
          ],
        },
      ],
    };
    a.logs.pipe(Buffer.alloc(0), Buffer.from(JSON.stringify(request)), 1_000);
    const archived = JSON.stringify(a.sinks.logs.buffered[0]!.record.value);
    for (const secret of ['4111 1111 1111 1111', 'jane@example.com', 'hunter2']) {
      expect(archived).not.toContain(secret);
    }
    expect(archived).toContain('beorn');
    a.driver.close();
  });

  it('dead-letters a message that cannot be read, and archives the rest', () => {
    const a = archive();
    a.logs.pipe(Buffer.alloc(0), Buffer.from('{"resourceLogs": [ broken'), 1_000);
    const [message] = encodeLogs(buildScenario({ traces: 1, seed: 9 }).logs, { encoding: 'otlp_json' });
    a.logs.pipe(Buffer.alloc(0), message!, 1_000);
    const dlq = a.dlq.readRecords();
    expect(dlq).toHaveLength(1);
    expect(dlq[0]!.headers[HEADER.sourceOffset]).toBe('0');
    expect(a.sinks.logs.buffered).toHaveLength(1);
    a.driver.close();
  });
});
