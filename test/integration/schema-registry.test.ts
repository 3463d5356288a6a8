import { randomUUID } from 'node:crypto';
import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { schemaRegistryUrl } from '../../infra/services/schema-registry';
import { createSchemaRegistryClient } from '../../sinks/kafka/schema-registry-client';
import { stackSettingsFromEnv } from '../../infra/stack-settings';

// Runs against the local stack's registry (Apicurio's Confluent-compatible API, started by the global
// setup) with the client the app uses for the `stacklens-alerts` Avro topic.
const host = schemaRegistryUrl(stackSettingsFromEnv());
const run = randomUUID().slice(0, 8);
const CONFLUENT_CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

const alertV1 = {
  type: 'record',
  name: 'Alert',
  namespace: 'io.stacklens.it',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'severity', type: { type: 'enum', name: 'Severity', symbols: ['INFO', 'WARN', 'CRITICAL'] } },
    { name: 'firedAt', type: { type: 'long', logicalType: 'timestamp-millis' } },
  ],
};

function avro(schema: object) {
  return { type: SchemaType.AVRO, schema: JSON.stringify(schema) } as const;
}

async function setCompatibility(subject: string, level: string): Promise<void> {
  const response = await fetch(`${host}/config/${encodeURIComponent(subject)}`, {
    method: 'PUT',
    headers: { 'Content-Type': CONFLUENT_CONTENT_TYPE },
    body: JSON.stringify({ compatibility: level }),
  });
  expect(response.status).toBe(200);
}

describe('schema registry (Confluent-compatible API) with @kafkajs/confluent-schema-registry', () => {
  // The app's client (bounded, retried requests): the library's own sets no timeout, and a registry
  // write can stall (see sinks/kafka/schema-registry-client.ts). Decoding below uses a plain client.
  const registry = createSchemaRegistryClient({ url: host, requestTimeoutMs: 15_000 });

  it('registers an Avro schema, encodes a record with it and decodes it with a fresh client', async () => {
    const subject = `it-alert-${run}-value`;
    await setCompatibility(subject, COMPATIBILITY.BACKWARD);
    const { id } = await registry.register(avro(alertV1), { subject });
    expect(await registry.getLatestSchemaId(subject)).toBe(id);

    const alert = { id: 'alert-1', severity: 'CRITICAL', firedAt: 1_700_000_000_000 };
    const encoded = await registry.encode(id, alert);
    // Confluent wire format: magic byte 0, then the schema id, then the Avro body.
    expect(encoded.readUInt8(0)).toBe(0);
    expect(encoded.readInt32BE(1)).toBe(id);

    // A client with an empty cache must fetch the writer schema by id from the registry.
    const decoded: unknown = await new SchemaRegistry({ host }).decode(encoded);
    expect(decoded).toEqual(alert);
  });

  it('rejects an incompatible change under BACKWARD compatibility and accepts a compatible one', async () => {
    const subject = `it-alert-evolution-${run}-value`;
    await setCompatibility(subject, COMPATIBILITY.BACKWARD);
    await registry.register(avro(alertV1), { subject });
    const configResponse = await fetch(`${host}/config/${encodeURIComponent(subject)}`);
    expect(await configResponse.json()).toEqual({ compatibilityLevel: 'BACKWARD' });

    // A new required field without a default cannot read records written with v1.
    const incompatible = { ...alertV1, fields: [...alertV1.fields, { name: 'service', type: 'string' }] };
    await expect(registry.register(avro(incompatible), { subject })).rejects.toMatchObject({
      status: 409,
      message: expect.stringMatching(/incompatible/i),
    });

    const compatible = {
      ...alertV1,
      fields: [...alertV1.fields, { name: 'service', type: 'string', default: 'unknown' }],
    };
    const { id } = await registry.register(avro(compatible), { subject });
    expect(await registry.getLatestSchemaId(subject)).toBe(id);

    const versions = await fetch(`${host}/subjects/${encodeURIComponent(subject)}/versions`);
    expect(await versions.json()).toEqual([1, 2]);
  });
});
