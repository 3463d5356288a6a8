import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Kafka, Partitioners, logLevel, type Admin, type Producer } from 'kafkajs';
import { startApiServer, type ApiServer } from '../../app/api-server';
import { kafkaClient, startStackLens, type RunningStackLens } from '../../app/stacklens-app';
import { stackLensTopics } from '../../app/topics';
import { createLogger } from '../../common/logger';
import { loadConfig, type StackLensConfig } from '../../config/config';
import { withLocalStackDefaults } from '../../infra/local-stack-env';
import { stackSettingsFromEnv } from '../../infra/stack-settings';
import { contractLogMessage } from '../support/otlp-fixtures';
import { waitFor } from '../support/wait-for';

// Issue 9, "queries without guardrails", through the composition root against the local stack: the
// pipeline commits while 200 heavy REST queries arrive at once; over-cap queries are answered 429 at
// once instead of piling up; ranges over API_MAX_QUERY_RANGE_HOURS are refused; queries of a client
// that went away are not run.

const run = randomUUID().slice(0, 8);
const appId = `qguard-${run}`;
const dir = mkdtempSync(join(tmpdir(), `stacklens-${appId}-`));
const settings = stackSettingsFromEnv();
const MAX_CONCURRENT = 4;
const MAX_QUEUED = 16;
const MAX_RANGE_HOURS = 48;
const loaded = loadConfig(
  withLocalStackDefaults(
    {
      TOPIC_PREFIX: `${appId}-`,
      APPLICATION_ID: appId,
      CHDB_PATH: join(dir, 'chdb'),
      LOG_LEVEL: 'warn',
      API_MAX_CONCURRENT_QUERIES: String(MAX_CONCURRENT),
      API_MAX_QUEUED_QUERIES: String(MAX_QUEUED),
      API_MAX_QUERY_RANGE_HOURS: String(MAX_RANGE_HOURS),
    },
    settings,
  ),
);
// Port 0: the OS picks a free port; the archive goes to the test's directory, not the shared bucket.
const config: StackLensConfig = {
  ...loaded,
  http: { ...loaded.http, port: 0 },
  archive: { ...loaded.archive, s3: undefined, dir: join(dir, 'archive') },
};
const topics = stackLensTopics(config);
const logger = createLogger({ level: config.log.level, format: 'json', name: appId });
const kafka = new Kafka({
  clientId: `${appId}-test`,
  brokers: config.kafka.brokers,
  logLevel: logLevel.NOTHING,
});

/** Rows the heavy queries scan: each query reads all of them (no row matches its filters). */
const FILLER_ROWS = 500_000;
const HOUR_NS = 3_600_000_000_000n;
const nowNs = () => BigInt(Date.now()) * 1_000_000n;

/**
 * A query that must scan every filler row of the last 24 h: a body substring and the 16 attribute
 * filters the API allows, none of which matches (about half a second of chDB time each on this machine).
 */
const HEAVY = `/api/logs?limit=1000&q=needle-${run}&${Array.from({ length: 16 }, (_, i) => `attr.k${i}=v`).join('&')}`;

let app: RunningStackLens | undefined;
let api: ApiServer | undefined;
let pipelineFailure: unknown;
const base = () => `http://127.0.0.1:${api!.port}`;

async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const found = (await app!.registry.getMetricsAsJSON()).find((m) => m.name === name);
  const values = (found?.values ?? []) as { value: number; labels: Record<string, string | number> }[];
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}

async function count(sql: string, params: Record<string, unknown> = {}): Promise<number> {
  if (pipelineFailure !== undefined) throw new Error(`the pipeline failed: ${String(pipelineFailure)}`);
  const result = await app!.clickhouse.query({ query: sql, query_params: params, format: 'JSONEachRow' });
  const [row] = await result.json<{ n: string }>();
  return Number(row?.n ?? 0);
}

interface Answer {
  status: number;
  retryAfter: string | null;
  body: { error?: string; detail?: string };
}

async function get(path: string, signal?: AbortSignal): Promise<Answer> {
  const res = await fetch(`${base()}${path}`, { signal: signal ?? AbortSignal.timeout(120_000) });
  return {
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    body: (await res.json()) as Answer['body'],
  };
}

jest.setTimeout(240_000);

describe('REST query guardrails, with the pipeline running', () => {
  let admin: Admin;
  let producer: Producer;

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    app = await startStackLens({ config, logger, instanceId: `${appId}-a` });
    app.done.catch((err: unknown) => (pipelineFailure = err));
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    // Filler written straight to the table (through the sinks' client): the pipeline's own writes
    // are the records this test produces to Kafka.
    await app.clickhouse.command({
      query: `INSERT INTO otel_logs (Timestamp, ServiceName, SeverityNumber, SeverityText, Body, LogAttributes)
        SELECT now64(9) - toIntervalMillisecond(number * 100), 'filler', 9, 'INFO',
          concat('filler ', toString(number), ' ', repeat('x', 200)),
          map('a', toString(number % 7), 'b', 'x', 'c', 'y', 'd', 'z')
        FROM numbers(${FILLER_ROWS})`,
    });
    api = await startApiServer({
      config,
      logger,
      registry: app.registry,
      clickhouse: app.clickhouse,
      kafka: kafkaClient(config, logger, `${appId}-api`),
      schemaRegistry: app.schemaRegistry,
      pipelineProblem: () => app!.problem(),
      topics,
    });
  }, 180_000);

  afterAll(async () => {
    const steps: [string, () => Promise<unknown>][] = [
      ['api', async () => api?.close()],
      ['app', async () => app?.stop()],
      ['producer', async () => producer?.disconnect()],
      [
        'groups',
        async () => {
          const groups = (await admin.listGroups()).groups
            .map((g) => g.groupId)
            .filter((g) => g.startsWith(appId));
          if (groups.length > 0) await admin.deleteGroups(groups);
        },
      ],
      [
        'topics',
        async () => {
          const ours = (await admin.listTopics()).filter((t) => t.startsWith(appId));
          if (ours.length > 0) await admin.deleteTopics({ topics: ours });
        },
      ],
      [
        'subjects',
        async () => {
          for (const topic of [topics.enriched, topics.alerts]) {
            const subject = `${config.schemaRegistry.url}/subjects/${encodeURIComponent(`${topic}-value`)}`;
            await fetch(subject, { method: 'DELETE' });
            await fetch(`${subject}?permanent=true`, { method: 'DELETE' });
          }
        },
      ],
      ['admin', async () => admin?.disconnect()],
      ['dir', async () => rmSync(dir, { recursive: true, force: true })],
    ];
    for (const [what, step] of steps) {
      await step().catch((err: unknown) => logger.warn({ err, what }, 'cleanup step failed'));
    }
  }, 120_000);

  it('200 concurrent heavy queries: over-cap ones get 429 at once, /health answers, and records produced meanwhile land while queries still run', async () => {
    const service = `during-load-${run}`;
    const RECORDS = 50;
    let landed = false;
    let runningWhenLanded = -1;
    const peak = { running: 0, queued: 0 };
    const sample = async () => {
      peak.running = Math.max(peak.running, await metric('stacklens_api_queries_running'));
      peak.queued = Math.max(peak.queued, await metric('stacklens_api_queries_queued'));
    };
    const first: Answer[] = [];
    const later: number[] = [];

    // 200 clients send at once. Twenty of them then behave like real clients, retrying after
    // Retry-After, so the load lasts until the records have landed (bounded by a deadline).
    const deadline = Date.now() + 120_000;
    const lane = async (i: number) => {
      const answer = await get(HEAVY);
      first.push(answer);
      if (i >= MAX_CONCURRENT + MAX_QUEUED) return;
      let last = answer;
      while (!landed && Date.now() < deadline) {
        if (last.status === 429) await delay(Number(last.retryAfter) * 1_000);
        last = await get(HEAVY);
        later.push(last.status);
      }
    };
    const lanes = Promise.all(Array.from({ length: 200 }, (_, i) => lane(i)));

    await waitFor('the query slots to fill', async () => (await metric('stacklens_api_queries_running')) > 0);
    const health = await fetch(`${base()}/health`, { signal: AbortSignal.timeout(10_000) });
    expect(health.status).toBe(200);

    const endsBefore = new Map(
      (await admin.fetchTopicOffsets(topics.logs)).map((p) => [p.partition, Number(p.high)]),
    );
    await producer.send({
      topic: topics.logs,
      acks: -1,
      messages: Array.from({ length: RECORDS }, (_, i) => ({
        value: contractLogMessage({
          service,
          level: 'info',
          message: `produced during the load #${i}`,
          timestamp: new Date().toISOString(),
        }),
      })),
    });
    await waitFor(
      'the records produced during the load in otel_logs',
      async () => {
        await sample();
        const n = await count('SELECT count() AS n FROM otel_logs WHERE ServiceName = {s:String}', {
          s: service,
        });
        if (n < RECORDS) return false;
        runningWhenLanded = await metric('stacklens_api_queries_running');
        landed = true;
        return true;
      },
      120_000,
      250,
    );
    await lanes;

    // The pipeline's writes did not wait for the queries: they landed while queries held slots.
    expect(runningWhenLanded).toBeGreaterThan(0);
    expect(first).toHaveLength(200);
    const rejected = first.filter((a) => a.status === 429);
    // Places free up only as queries finish (about two a second here), so while the 200 requests
    // arrive most find the cap and the queue full; none waits beyond them.
    expect(rejected.length).toBeGreaterThanOrEqual(100);
    expect(peak.running).toBeLessThanOrEqual(MAX_CONCURRENT);
    expect(peak.queued).toBeLessThanOrEqual(MAX_QUEUED);
    expect(first.filter((a) => a.status !== 429 && a.status !== 200)).toEqual([]);
    for (const answer of rejected) {
      expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(answer.body).toMatchObject({ error: 'too_many_queries' });
      expect(answer.body.detail).toContain('API_MAX_CONCURRENT_QUERIES');
    }
    expect([...first.map((a) => a.status), ...later].filter((s) => s === 200).length).toBeGreaterThan(0);
    expect(later.filter((s) => s !== 200 && s !== 429)).toEqual([]);

    // Every slot and queue place is given back, and the pipeline committed past what was produced.
    await waitFor('no query running', async () => (await metric('stacklens_api_queries_running')) === 0);
    expect(await metric('stacklens_api_queries_queued')).toBe(0);
    await waitFor('the pipeline to commit past the produced records', async () => {
      const [committed] = await admin.fetchOffsets({ groupId: appId, topics: [topics.logs] });
      const total = (committed?.partitions ?? []).reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
      const before = [...endsBefore.values()].reduce((s, n) => s + n, 0);
      return total >= before + RECORDS;
    });
    expect((await fetch(`${base()}/health`)).status).toBe(200);
  });

  it("a write on the sinks' client does not wait for the API's queries: they have their own chDB session", async () => {
    await waitFor('no query running', async () => (await metric('stacklens_api_queries_running')) === 0);
    const settled: string[] = [];
    const queries = Array.from({ length: MAX_CONCURRENT }, (_, i) =>
      get(HEAVY).then((answer) => {
        expect(answer.status).toBe(200);
        settled.push(`query ${i}`);
      }),
    );
    await waitFor('the queries to start', async () => (await metric('stacklens_api_queries_running')) > 0);
    // chDB runs one statement at a time per session, and these four run one after another (about a
    // second together): on a shared session the insert would settle after every query still pending;
    // on its own session it takes milliseconds.
    await app!.clickhouse.insert({
      table: 'otel_logs',
      format: 'JSONEachRow',
      values: [{ Timestamp: nowNs().toString(), ServiceName: `write-${run}`, Body: 'not queued' }],
    });
    settled.push('insert');
    await Promise.all(queries);
    expect(settled.indexOf('insert')).toBeLessThan(MAX_CONCURRENT);
  });

  it('answers 400 naming API_MAX_QUERY_RANGE_HOURS for a range over it, and reads the last 24 h by default', async () => {
    const cases: [string, string][] = [
      ['/api/services?start_time=0', 'start_time'],
      [`/api/logs?start_time=${(nowNs() - BigInt(MAX_RANGE_HOURS + 1) * HOUR_NS).toString()}`, 'start_time'],
      ['/api/alerts?start_time=2020-01-01T00:00:00Z&end_time=2020-01-04T00:00:00Z', 'start_time'],
      ['/api/correlations?start_time=0', 'start_time'],
      ['/api/services?window=3d', 'window'],
      ['/api/workflows?window=7d', 'window'],
    ];
    for (const [path, parameter] of cases) {
      const answer = await get(path);
      expect({ path, status: answer.status, error: answer.body.error }).toEqual({
        path,
        status: 400,
        error: 'bad_parameter',
      });
      expect(answer.body.detail).toMatch(new RegExp(`^${parameter}: .*API_MAX_QUERY_RANGE_HOURS \\(48 h\\)`));
    }

    const service = `old-${run}`;
    await app!.clickhouse.insert({
      table: 'otel_logs',
      format: 'JSONEachRow',
      values: [
        { Timestamp: (nowNs() - 30n * HOUR_NS).toString(), ServiceName: service, Body: 'thirty hours ago' },
      ],
    });
    const byDefault = await fetch(`${base()}/api/logs?service=${service}`);
    expect(((await byDefault.json()) as { logs: unknown[] }).logs).toEqual([]);
    const start = (nowNs() - 31n * HOUR_NS).toString();
    const explicit = await fetch(`${base()}/api/logs?service=${service}&start_time=${start}`);
    expect(((await explicit.json()) as { logs: { body: string }[] }).logs.map((l) => l.body)).toEqual([
      'thirty hours ago',
    ]);
  });

  it('does not run the queries of clients that went away, and gives their slots back', async () => {
    const outcome = (o: string) => metric('stacklens_api_queries_total', { outcome: o });
    await waitFor('no query running', async () => (await metric('stacklens_api_queries_running')) === 0);
    const before = {
      ok: await outcome('ok'),
      waiting: await outcome('abandoned_waiting'),
      running: await outcome('abandoned_running'),
    };
    const clients = Array.from({ length: MAX_CONCURRENT + MAX_QUEUED }, () => new AbortController());
    const requests = clients.map((c) => get(HEAVY, c.signal).catch(() => 'aborted' as const));
    // Each chDB query takes a few hundred ms and they run one after another, so most wait here.
    await waitFor(
      'the clients to wait for query slots',
      async () => (await metric('stacklens_api_queries_queued')) >= MAX_QUEUED / 2,
    );
    for (const c of clients) c.abort();
    const answered = (await Promise.all(requests)).filter((r) => r !== 'aborted').length;

    await waitFor('the queue to empty', async () => (await metric('stacklens_api_queries_queued')) === 0);
    await waitFor('no query running', async () => (await metric('stacklens_api_queries_running')) === 0);
    const waited = (await outcome('abandoned_waiting')) - before.waiting;
    const ran = (await outcome('abandoned_running')) - before.running;
    const ok = (await outcome('ok')) - before.ok;
    // Those still waiting never started (a few may have moved up between the look and the abort).
    expect(waited).toBeGreaterThanOrEqual(MAX_QUEUED / 4);
    expect(waited + ran + ok).toBe(clients.length);
    expect(ok).toBeGreaterThanOrEqual(answered);
    expect((await get('/api/logs?limit=1')).status).toBe(200);
  });
});
