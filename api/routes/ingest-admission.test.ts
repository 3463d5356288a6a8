import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { createClient } from '@clickhouse/client';
import { Registry } from 'prom-client';
import { NEVER } from 'rxjs';
import { createLogger } from '../../common/logger';
import type { IngestMessage, IngestProducer } from '../deps';
import { startApi, waitFor, type RunningApi } from '../testing/harness';

/** A producer that holds every produce until released, to keep requests in flight. */
class GatedProducer implements IngestProducer {
  readonly produced: { topic: string; messages: readonly IngestMessage[] }[] = [];
  private waiting: (() => void)[] = [];
  get pending(): number {
    return this.waiting.length;
  }
  produce(topic: string, messages: readonly IngestMessage[]): Promise<void> {
    return new Promise((resolve) =>
      this.waiting.push(() => {
        this.produced.push({ topic, messages });
        resolve();
      }),
    );
  }
  releaseAll(): void {
    for (const release of this.waiting.splice(0)) release();
  }
}

describe('ingest admission', () => {
  const clickhouse = createClient({ url: 'http://127.0.0.1:1' });
  const producer = new GatedProducer();
  let api: RunningApi;

  beforeAll(async () => {
    api = await startApi({
      clickhouse,
      database: 'stacklens',
      live: { logs$: NEVER, alerts$: NEVER },
      ingest: producer,
      probes: {},
      registry: new Registry(),
      auth: { kind: 'none' },
      logger: createLogger({ level: 'silent', format: 'json' }),
      limits: { maxInflightIngest: 2 },
    });
  });

  afterAll(async () => {
    producer.releaseAll();
    await api.close();
    await clickhouse.close();
  });

  const post = (path: string, body: string) =>
    fetch(`${api.baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const otlpLogs = JSON.stringify({
    resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'm' } }] }] }],
  });
  const record = JSON.stringify({
    timestamp: '2025-01-15T10:30:45Z',
    service: 's',
    level: 'info',
    message: 'm',
  });

  it('answers 429 beyond the in-flight bound and admits again once requests complete', async () => {
    const first = post('/api/ingest/log', record);
    const second = post('/v1/logs', otlpLogs);
    await waitFor('two produces in flight', () => producer.pending === 2);

    const refused = await post('/api/ingest/log', record);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.json()).toEqual({
      error: 'too_many_requests',
      detail: 'too many ingest requests in flight; retry later',
    });
    const refusedOtlp = await post('/v1/traces', '{"resourceSpans":[]}');
    expect(refusedOtlp.status).toBe(429);
    expect(await refusedOtlp.json()).toEqual({
      code: 8,
      message: 'too many ingest requests in flight; retry later',
    });

    producer.releaseAll();
    expect((await first).status).toBe(202);
    expect((await second).status).toBe(200);
    const admitted = post('/api/ingest/log', record);
    await waitFor('the next produce', () => producer.pending === 1);
    producer.releaseAll();
    expect((await admitted).status).toBe(202);
    expect(producer.produced.map((p) => p.topic)).toEqual(['otel-logs', 'otel-logs', 'otel-logs']);
  });

  it('frees the slot of an upload that stalls (408) or whose client goes away', async () => {
    const slow = await startApi({
      clickhouse,
      database: 'stacklens',
      live: { logs$: NEVER, alerts$: NEVER },
      ingest: { produce: () => Promise.resolve() },
      probes: {},
      registry: new Registry(),
      auth: { kind: 'none' },
      logger: createLogger({ level: 'silent', format: 'json' }),
      limits: { maxInflightIngest: 1, bodyTimeoutMs: 300 },
    });
    try {
      const port = Number(new URL(slow.baseUrl).port);
      const partial = (socket: Socket) =>
        socket.write(
          'POST /v1/logs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{',
        );
      const stalled = connect(port, '127.0.0.1', () => partial(stalled));
      let answer = '';
      stalled.on('data', (c: Buffer) => (answer += c.toString()));
      await once(stalled, 'close');
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
      expect(answer).toMatch(/connection: close/i);
      expect(
        (
          await fetch(`${slow.baseUrl}/v1/logs`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: otlpLogs,
          })
        ).status,
      ).toBe(200);

      const aborted = connect(port, '127.0.0.1', () => {
        partial(aborted);
        aborted.destroy();
      });
      await once(aborted, 'close');
      await waitFor('the aborted upload to free its slot', async () => {
        const res = await fetch(`${slow.baseUrl}/v1/logs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: otlpLogs,
        });
        return res.status === 200;
      });
    } finally {
      await slow.close();
    }
  });
});
