import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { schemaRegistryUrl } from '../../infra/services/schema-registry';
import { stackSettingsFromEnv } from '../../infra/stack-settings';
import { ALERT_SCHEMA } from '../../processors/avro/schemas';
import type { Alert, LogRecord } from '../../processors/records';
import {
  AvroSerdeError,
  registerAvroSerde,
  SchemaIncompatibleError,
  UnknownSchemaIdError,
  valueSubject,
} from '../../sinks/kafka/avro-serde';
import { registerProductSerdes } from '../../sinks/kafka/product-serdes';
import { createSchemaRegistryClient } from '../../sinks/kafka/schema-registry-client';

// Against the local stack's Apicurio registry (Confluent-compatible API); subjects carry a per-run prefix.
const host = schemaRegistryUrl(stackSettingsFromEnv());
const run = randomUUID().slice(0, 8);
const alertSchemaFile = join(__dirname, '../../schemas/alert.avsc');
const tmp = mkdtempSync(join(tmpdir(), 'stacklens-avro-it-'));

/** Plain-object copy: avsc decodes records into instances of generated classes. */
const plain = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

function schemaFile(name: string, schema: object): string {
  const file = join(tmp, `${name}.avsc`);
  writeFileSync(file, JSON.stringify(schema));
  return file;
}

const alert: Alert = {
  id: '1b4e28ba-2fa1-41d2-883f-0016d3cca427',
  issue_code: 'PRICE_MISSING',
  severity: 'error',
  message: 'price missing for product p-1',
  suggested_fix: 'publish a price for the product',
  confidence: 0.9,
  automation_possible: true,
  automation_action: 'reprice',
  related_trace_id: null,
  related_logs: ['otel-logs:0:42:0', 'otel-logs:0:43:1'],
  created_at: '2026-11-22T08:00:00.000Z',
  created_by: 'stacklens',
  rule_id: 'price-missing',
  service: 'palantir',
  count: 2,
  window_start: '2026-11-22T08:00:00.000Z',
};

const log: LogRecord = {
  id: 'otel-logs:1:9:0',
  source: 'otlp_proto',
  time_unix_nano: '1763798400123456789',
  observed_time_unix_nano: '1763798400123456789',
  time_ms: 1_763_798_400_123,
  trace_id: '0af7651916cd43dd8448eb211c80319c',
  span_id: 'b7ad6b7169203331',
  trace_flags: 1,
  severity_number: 17,
  severity_text: 'ERROR',
  body: 'timeout calling arda',
  event_name: '',
  resource_schema_url: '',
  resource_attributes: { 'service.name': 'beorn' },
  scope_name: 'beorn.http',
  scope_version: '1.0.0',
  scope_schema_url: '',
  scope_attributes: {},
  log_attributes: { 'http.status_code': '504' },
  service: 'beorn',
  env: 'prod',
  workflow_id: 'wf-7',
  circuit_id: '',
  product_id: '',
  resource_id: '',
  resource_type_id: '',
  request_id: 'req-1',
  error_code: 'TIMEOUT',
  gen_ai_input_tokens: 0,
  gen_ai_output_tokens: 0,
  redacted_count: 0,
};

describe('Avro serde backed by the schema registry', () => {
  // The app's client (bounded, retried requests); fresh library clients below check wire compatibility.
  const registry = createSchemaRegistryClient({ url: host, requestTimeoutMs: 15_000 });

  it('writes Confluent wire format that SchemaRegistry#decode reads, and reads what SchemaRegistry#encode writes', async () => {
    const subject = valueSubject(`it-avro-${run}-stacklens-alerts`);
    const serde = await registerAvroSerde<Alert>(registry, subject, alertSchemaFile);
    expect(serde.subject).toBe(subject);
    expect(await registry.getLatestSchemaId(subject)).toBe(serde.schemaId);

    const bytes = serde.serialize(alert)!;
    expect(bytes.readUInt8(0)).toBe(0);
    expect(bytes.readInt32BE(1)).toBe(serde.schemaId);
    // A fresh client, with an empty cache, fetches the writer schema by the id in the record.
    expect(plain(await new SchemaRegistry({ host }).decode(bytes))).toEqual(alert);

    const theirs = await new SchemaRegistry({ host }).encode(serde.schemaId, { ...alert, count: 5 });
    expect(plain(serde.deserialize(theirs))).toEqual({ ...alert, count: 5 });

    expect(serde.serialize(null as unknown as Alert)).toBeNull();
    expect(serde.deserialize(null)).toBeNull();
  });

  it('registers the product serdes and round-trips enriched logs and alerts', async () => {
    const serdes = await registerProductSerdes(registry, { prefix: `it-avro-${run}-` });
    expect(serdes.enriched.subject).toBe(`it-avro-${run}-stacklens-enriched-value`);
    expect(serdes.alerts.subject).toBe(`it-avro-${run}-stacklens-alerts-value`);
    expect(plain(serdes.enriched.deserialize(serdes.enriched.serialize(log)))).toEqual(log);
    expect(plain(await registry.decode(serdes.enriched.serialize(log)!))).toEqual(log);
    expect(plain(serdes.alerts.deserialize(serdes.alerts.serialize(alert)))).toEqual(alert);
  });

  it('rejects an incompatible schema change at registration with a typed error', async () => {
    const subject = valueSubject(`it-avro-evolution-${run}`);
    await registerAvroSerde<Alert>(registry, subject, alertSchemaFile);
    // A new field without a default: records written with the first version could not be read.
    const incompatible = schemaFile('incompatible', {
      ...ALERT_SCHEMA,
      fields: [...ALERT_SCHEMA.fields, { name: 'tenant', type: 'string' }],
    });
    const registering = registerAvroSerde<Alert>(registry, subject, incompatible);
    await expect(registering).rejects.toBeInstanceOf(SchemaIncompatibleError);
    await expect(registerAvroSerde<Alert>(registry, subject, incompatible)).rejects.toThrow(
      new RegExp(`schema for subject ${subject} is incompatible with its registered versions`),
    );
  });

  it("reads records written with the subject's earlier versions, and fails clearly on unknown ids", async () => {
    const subject = valueSubject(`it-avro-versions-${run}`);
    const v1 = await registerAvroSerde<Alert>(registry, subject, alertSchemaFile);
    const oldRecord = v1.serialize(alert)!;

    const v2File = schemaFile('v2', {
      ...ALERT_SCHEMA,
      fields: [...ALERT_SCHEMA.fields, { name: 'tenant', type: 'string', default: 'default' }],
    });
    const v2 = await registerAvroSerde<Alert & { tenant: string }>(registry, subject, v2File);
    expect(v2.schemaId).not.toBe(v1.schemaId);
    expect(v2.readableIds).toEqual([v2.schemaId, v1.schemaId]);
    expect(plain(v2.deserialize(oldRecord))).toEqual({ ...alert, tenant: 'default' });

    // An id of another subject: not resolvable synchronously, so it fails naming the id and the subject.
    const other = await registry.register(
      {
        type: SchemaType.AVRO,
        schema: JSON.stringify({ type: 'record', name: 'Other', fields: [{ name: 'x', type: 'int' }] }),
      },
      { subject: valueSubject(`it-avro-other-${run}`) },
    );
    const foreign = await registry.encode(other.id, { x: 1 });
    expect(() => v2.deserialize(foreign)).toThrow(UnknownSchemaIdError);
    expect(() => v2.deserialize(foreign)).toThrow(new RegExp(`schema id ${other.id}.*subject ${subject}`));
    expect(() => v2.deserialize(Buffer.from('{"json":true}'))).toThrow(/not in Confluent wire format/);
    expect(() => v1.serialize({ ...alert, severity: 'fatal' } as unknown as Alert)).toThrow(AvroSerdeError);
    expect(() => v1.serialize({ ...alert, severity: 'fatal' } as unknown as Alert)).toThrow(
      /invalid fields: severity/,
    );
  });
});
