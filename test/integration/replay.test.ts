import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { Kafka, Partitioners, logLevel, type Admin, type Producer } from 'kafkajs';
import { buildScenario, encodeLogs, encodeSpans, type Scenario } from '../../app/demo/otlp-scenario';
import { replayArchive } from '../../app/replay/archive-replay';
import {
  parseReplayRequest,
  replayApplicationId,
  replayId,
  type ReplayOptionValues,
} from '../../app/replay/replay-arguments';
import { startTopicReplay } from '../../app/replay/topic-replay';
import { startStackLens, type RunningStackLens } from '../../app/stacklens-app';
import { stackLensTopics } from '../../app/topics';
import { createLogger } from '../../common/logger';
import { loadConfig } from '../../config/config';
import { withLocalStackDefaults } from '../../infra/local-stack-env';
import { stackSettingsFromEnv } from '../../infra/stack-settings';
import type { BoundedProgress } from '../../topology/runtime/bounds';
import { waitFor } from '../support/wait-for';

// `stacklens replay` against the local stack: the live pipeline processes a scenario (and archives
// it), then replays of the topics and of the archive must rebuild the same ClickHouse rows, add
// nothing when the rows are there, and publish nothing to the enriched and alerts topics.

const run = randomUUID().slice(0, 8);
const appId = `it-replay-${run}`;
const dir = mkdtempSync(join(tmpdir(), `stacklens-${appId}-`));
const config = loadConfig(
  withLocalStackDefaults(
    {
      TOPIC_PREFIX: `${appId}-`,
      APPLICATION_ID: appId,
      CHDB_PATH: join(dir, 'chdb'),
      CORR_WINDOW_SECONDS: '2',
      CORR_GRACE_SECONDS: '1',
      ARCHIVE_FLUSH_SECONDS: '1',
      LOG_LEVEL: 'warn',
    },
    stackSettingsFromEnv(),
  ),
);
const topics = stackLensTopics(config);
const logger = createLogger({ level: config.log.level, format: 'json', name: appId });
const kafka = new Kafka({
  clientId: `${appId}-test`,
  brokers: config.kafka.brokers,
  logLevel: logLevel.NOTHING,
});
const stateDir = join(dir, 'replay-state');

/** What the tables hold, in a form two runs can be compared by (rows as sorted JSON lines). */
interface Snapshot {
  logs: string[];
  spans: string[];
  correlations: string[];
  alerts: string[];
}

/**
 * `sameIds`: false for a replay of the archive, whose messages have new offsets, hence new log record
 * ids (they derive from the input position): ids are then left out.
 */
async function snapshot(ch: ClickHouseClient, sameIds = true): Promise<Snapshot> {
  const rows = async (sql: string): Promise<string[]> =>
    (await (await ch.query({ query: sql, format: 'JSONEachRow' })).json<Record<string, unknown>>())
      .map((r) => JSON.stringify(r))
      .sort();
  return {
    logs: await rows(
      `SELECT Timestamp, TraceId, SpanId, ServiceName, SeverityText, Body, LogAttributes, ResourceAttributes
              ${sameIds ? ', StackLensRecordId' : ''} FROM otel_logs`,
    ),
    spans: await rows(`SELECT * FROM otel_traces`),
    correlations: await rows(
      `SELECT trace_id, services, start_time, end_time, span_count, error_count, log_count, version
              ${sameIds ? ', log_ids' : ''} FROM stacklens_correlations`,
    ),
    alerts: await rows(
      // Not related_logs: a log rule cites the first matching log it sees, and logs of different
      // input partitions reach the per-service task in an order that varies from run to run (the
      // live pipeline's too); a replayed alert has the same id and count and replaces the row.
      'SELECT id, rule_id, service, issue_code, count FROM stacklens_alerts FINAL',
    ),
  };
}

async function truncateTables(ch: ClickHouseClient): Promise<void> {
  // The ledger goes too: it is what says which input offsets the tables already hold.
  for (const table of [
    'otel_logs',
    'otel_traces',
    'stacklens_correlation_parts',
    'stacklens_alerts',
    'stacklens_sink_progress',
  ]) {
    await ch.command({ query: `TRUNCATE TABLE ${table}` });
  }
}

async function highWatermarks(admin: Admin, topic: string): Promise<string[]> {
  return (await admin.fetchTopicOffsets(topic)).sort((a, b) => a.partition - b.partition).map((p) => p.high);
}

async function committed(admin: Admin, groupId: string, topic: string): Promise<string[]> {
  const [result] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return (result?.partitions ?? []).sort((a, b) => a.partition - b.partition).map((p) => p.offset);
}

/** Runs a topic replay to its end (or stops it after the first progress, `stopEarly`). */
async function replayTopics(
  ch: ClickHouseClient,
  values: ReplayOptionValues,
  stopEarly = false,
): Promise<{ completed: boolean; applicationId: string; progress: BoundedProgress[] }> {
  const request = parseReplayRequest(values);
  const applicationId = replayApplicationId(config.kafka.applicationId, replayId(request));
  const progress: BoundedProgress[] = [];
  const control: { stop?: () => Promise<void> } = {};
  const replay = await startTopicReplay({
    config,
    logger,
    request,
    applicationId,
    clickhouse: ch,
    instanceId: 'it',
    onProgress: (p) => {
      progress.push(p);
      if (stopEarly && p.done > 0) void control.stop?.();
    },
  });
  control.stop = () => replay.stop();
  const { completed } = await replay.done;
  return { completed, applicationId, progress };
}

jest.setTimeout(180_000);

describe('stacklens replay', () => {
  let admin: Admin;
  let producer: Producer;
  let live: RunningStackLens | undefined;
  let ch: ClickHouseClient;
  let scenario: Scenario;
  let original: Snapshot;
  const firstTimestamp = { ms: Number.POSITIVE_INFINITY };

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    live = await startStackLens({ config, logger, instanceId: `${appId}-live` });
    ch = live.clickhouse;
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    scenario = buildScenario({
      traces: 10,
      seed: 7,
      errorRate: 0.5,
      startMs: Date.now() - 10_000,
      intervalMs: 100,
    });
    const send = async (topic: string, values: Buffer[], at: number): Promise<void> => {
      firstTimestamp.ms = Math.min(firstTimestamp.ms, at);
      for (const [i, value] of values.entries()) {
        await producer.send({ topic, acks: -1, messages: [{ value, timestamp: String(at + i) }] });
      }
    };
    await send(topics.logs, encodeLogs(scenario.logs, { batchSize: 7 }), scenario.traces[0]!.startMs);
    await send(topics.traces, encodeSpans(scenario.spans, { batchSize: 9 }), scenario.traces[0]!.startMs);

    // The live pipeline and the archive processed everything (the pipeline its repartition topics
    // too, so every log alert is stored), and the last traces were closed: each trace the trace
    // rules match has its alert.
    const repartitions = ['logs-by-service', 'logs-by-trace', 'spans-by-trace'].map(
      (name) => `${appId}-${name}-repartition`,
    );
    const caughtUp = async (groupId: string, internal: string[] = []): Promise<boolean> => {
      for (const topic of [topics.logs, topics.traces, ...internal]) {
        const ends = await highWatermarks(admin, topic);
        const done = await committed(admin, groupId, topic);
        if (ends.some((end, p) => end !== '0' && done[p] !== end)) return false;
      }
      return true;
    };
    await waitFor('the live pipeline and the archive to catch up', async () => {
      if (!(await caughtUp(appId, repartitions)) || !(await caughtUp(`${appId}-archive`))) return false;
      const [row] = await (
        await ch.query({
          query: `SELECT count() AS n, sum(span_count) AS spans,
                    countIf(error_count > 0 AND trace_id NOT IN (
                      SELECT related_trace_id FROM stacklens_alerts WHERE rule_id = 'trace-error')) +
                    countIf(duration_ns >= 5000000000 AND trace_id NOT IN (
                      SELECT related_trace_id FROM stacklens_alerts WHERE rule_id = 'slow-trace')) AS unalerted
                  FROM stacklens_correlations`,
          format: 'JSONEachRow',
        })
      ).json<{ n: string; spans: string; unalerted: string }>();
      return (
        Number(row?.n) === scenario.traces.length &&
        Number(row?.spans) === scenario.spans.length &&
        Number(row?.unalerted) === 0
      );
    });
    await live.streams.stop();
    await live.archive.stop();
    original = await snapshot(ch);
    expect(original.logs).toHaveLength(scenario.logs.length);
    expect(original.spans).toHaveLength(scenario.spans.length);
    expect(original.alerts.length).toBeGreaterThan(0);
  });

  afterAll(async () => {
    await producer?.disconnect();
    await live?.stop();
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(appId));
    if (groups.length > 0) await admin.deleteGroups(groups);
    const ours = (await admin.listTopics()).filter((t) => t.startsWith(appId));
    if (ours.length > 0) await admin.deleteTopics({ topics: ours });
    await admin.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  it('replaying what was processed adds no row, no enriched record, no alert, and leaves the live offsets', async () => {
    const before = {
      enriched: await highWatermarks(admin, topics.enriched),
      alerts: await highWatermarks(admin, topics.alerts),
      liveLogs: await committed(admin, appId, topics.logs),
    };
    const result = await replayTopics(ch, { from: '0' });
    expect(result.completed).toBe(true);
    const last = result.progress.at(-1)!;
    expect(last.done).toBe(last.total);
    expect(last.total).toBeGreaterThan(0);
    expect(await snapshot(ch)).toEqual(original);
    expect(await highWatermarks(admin, topics.enriched)).toEqual(before.enriched);
    expect(await highWatermarks(admin, topics.alerts)).toEqual(before.alerts);
    expect(await committed(admin, appId, topics.logs)).toEqual(before.liveLogs);
    // The replay's own group committed the end of the range.
    expect(await committed(admin, result.applicationId, topics.logs)).toEqual(
      await highWatermarks(admin, topics.logs),
    );
  });

  it('rebuilds dropped tables with the same rows, resumes after a stop, and a second run changes nothing', async () => {
    await truncateTables(ch);
    const from = new Date(firstTimestamp.ms).toISOString();
    const stopped = await replayTopics(ch, { topic: 'otel-logs,otel-traces', from }, true);
    const resumed = await replayTopics(ch, { topic: 'otel-traces,otel-logs', from });
    expect(resumed.applicationId).toBe(stopped.applicationId);
    expect(resumed.completed).toBe(true);
    // Resumed from the group's offsets: it did not start from zero again.
    if (!stopped.completed) expect(resumed.progress[0]!.done).toBeGreaterThan(0);
    expect(await snapshot(ch)).toEqual(original);

    const again = await replayTopics(ch, { from });
    expect(again.completed).toBe(true);
    expect(await snapshot(ch)).toEqual(original);
  });

  it('replays the archive through private topics into the same materialized result, twice', async () => {
    await truncateTables(ch);
    const request = parseReplayRequest({ archive: true });
    const applicationId = replayApplicationId(config.kafka.applicationId, replayId(request));
    const options = {
      config,
      logger,
      request,
      applicationId,
      stateDir,
      signal: new AbortController().signal,
      output: process.stderr,
      clickhouse: ch,
    };
    expect(await replayArchive(options)).toBe(true);
    const privateEnds = await highWatermarks(admin, `${applicationId}-otel-logs`);
    const rebuilt = await snapshot(ch, false);
    expect(rebuilt).toEqual(await snapshotWithoutIds(original));

    expect(await replayArchive(options)).toBe(true);
    expect(await highWatermarks(admin, `${applicationId}-otel-logs`)).toEqual(privateEnds);
    expect(await snapshot(ch, false)).toEqual(rebuilt);
  });

  it('produces the archive back to the input topics once, however often it runs', async () => {
    const request = parseReplayRequest({ archive: true, toTopics: true, topic: 'otel-traces' });
    const applicationId = replayApplicationId(config.kafka.applicationId, replayId(request));
    const sum = (ends: string[]) => ends.reduce((n, e) => n + Number(e), 0);
    const before = sum(await highWatermarks(admin, topics.traces));
    const options = {
      config,
      logger,
      request,
      applicationId,
      stateDir,
      signal: new AbortController().signal,
      output: process.stderr,
    };
    expect(await replayArchive(options)).toBe(true);
    const after = sum(await highWatermarks(admin, topics.traces));
    // One message per resource entry: at least one per archived message's service.
    expect(after).toBeGreaterThan(before);
    expect(await replayArchive(options)).toBe(true);
    expect(sum(await highWatermarks(admin, topics.traces))).toBe(after);
  });

  /** The original snapshot as an archive replay is compared: ids left out. */
  async function snapshotWithoutIds(s: Snapshot): Promise<Snapshot> {
    const drop = (lines: string[], keys: string[]) =>
      lines
        .map((line) => {
          const row = JSON.parse(line) as Record<string, unknown>;
          for (const k of keys) delete row[k];
          return JSON.stringify(row);
        })
        .sort();
    return Promise.resolve({
      logs: drop(s.logs, ['StackLensRecordId']),
      spans: s.spans,
      correlations: drop(s.correlations, ['log_ids']),
      alerts: s.alerts,
    });
  }
});
