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
});
