import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SchemaType } from '@kafkajs/confluent-schema-registry';
import { createSchemaRegistryClient } from './schema-registry-client';

type Answer = 'hang' | { status: number; body: object };

/** A registry stand-in on 127.0.0.1 that gives the scripted answers in turn, then the last one. */
async function scriptedRegistry(
  answers: Answer[],
): Promise<{ url: string; requests: string[]; server: Server }> {
  const requests: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    requests.push(`${req.method} ${req.url}`);
    const answer = answers[Math.min(requests.length, answers.length) - 1]!;
    req.resume();
    if (answer === 'hang') return; // the client's timeout ends it
    res.writeHead(answer.status, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
    res.end(JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, server };
}

const schema = {
  type: SchemaType.AVRO,
  schema: JSON.stringify({ type: 'record', name: 'A', fields: [] }),
} as const;
const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers) server.closeAllConnections();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** Long enough that an answered request is never timed out on a busy machine; a hang costs this much. */
const TIMEOUT_MS = 1_000;

async function registry(answers: Answer[], retries = 3) {
  const stub = await scriptedRegistry(answers);
  servers.push(stub.server);
  return {
    ...stub,
    client: createSchemaRegistryClient({ url: stub.url, requestTimeoutMs: TIMEOUT_MS, retries }),
  };
}

describe('createSchemaRegistryClient', () => {
  it('abandons a request that does not answer in time and retries it, also for writes', async () => {
    const { client, requests } = await registry([
      { status: 404, body: { error_code: 40401, message: 'Subject not found' } }, // GET config
      'hang', // POST versions
      { status: 200, body: { id: 7 } }, // POST versions, retried
      { status: 200, body: { compatibility: 'BACKWARD' } }, // PUT config
    ]);
    await expect(client.register(schema, { subject: 's-value' })).resolves.toEqual({ id: 7 });
    expect(requests).toEqual([
      'GET /config/s-value',
      'POST /subjects/s-value/versions',
      'POST /subjects/s-value/versions',
      'PUT /config/s-value',
    ]);
  });

  it('retries 5xx answers', async () => {
    const { client, requests } = await registry([
      { status: 503, body: { message: 'unavailable' } },
      { status: 500, body: { message: 'timeout waiting for the journal' } },
      { status: 200, body: { id: 3, version: 1, subject: 's-value', schema: '"string"' } },
    ]);
    await expect(client.getRegistryId('s-value', 1)).resolves.toBe(3);
    expect(requests).toHaveLength(3);
  });

  it('does not retry 4xx answers: they are the registry’s verdict', async () => {
    const { client, requests } = await registry([
      { status: 200, body: { compatibilityLevel: 'BACKWARD' } },
      { status: 409, body: { error_code: 409, message: 'Schema being registered is incompatible' } },
    ]);
    await expect(client.register(schema, { subject: 's-value' })).rejects.toMatchObject({ status: 409 });
    expect(requests).toEqual(['GET /config/s-value', 'POST /subjects/s-value/versions']);
  });

  it('gives up after its retries with an error naming the timeout', async () => {
    const { client, requests } = await registry(['hang'], 1);
    await expect(client.getRegistryId('s-value', 1)).rejects.toThrow(`Timeout (${TIMEOUT_MS}ms)`);
    expect(requests).toHaveLength(2);
  });
});
