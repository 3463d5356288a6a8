import { buildCorrelationsQuery, type CorrelationRow } from '../../api/query/correlations-sql';
import { parseReplayRequest, replayApplicationId, replayId } from '../../app/replay/replay-arguments';
import { startTopicReplay } from '../../app/replay/topic-replay';
import { contentTypeHeader } from '../support/otlp-fixtures';
import { startPipelineHarness, type PipelineHarness } from '../support/pipeline-harness';

// Issue 11, part 2, end to end: late spans and logs of a trace, within grace, after its correlation
// was emitted and after its state was evicted, all end in its correlation as the API reads it; a
// replay of the whole input afterwards changes nothing; the trace has one alert per trace rule.

jest.setTimeout(240_000);

const TRACE = 'aa11bb22cc33dd44ee55ff6600778899';
const ROOT = '1000000000000001';
/** Event times relative to t0, a few minutes ago (within the API's default 24 h range). */
const t0 = Date.now() - 5 * 60_000;
const ns = (ms: number) => `${BigInt(Math.round(ms)) * 1_000_000n}`;

function spansMessage(
  traceId: string,
  spans: { id: string; parent?: string; atMs: number; error?: boolean; service?: string }[],
): Buffer {
  return Buffer.from(
    JSON.stringify({
      resourceSpans: spans.map((s) => ({
        resource: { attributes: [{ key: 'service.name', value: { stringValue: s.service ?? 'arda' } }] },
        scopeSpans: [
          {
            spans: [
              {
                traceId,
                spanId: s.id,
                parentSpanId: s.parent ?? '',
                name: s.parent === undefined ? 'POST /orders' : 'call',
                kind: 2,
                startTimeUnixNano: ns(s.atMs),
                endTimeUnixNano: ns(s.atMs + 50),
                status: s.error === true ? { code: 2, message: 'upstream failed' } : {},
              },
            ],
          },
        ],
      })),
    }),
  );
}

function logMessage(traceId: string, atMs: number, body: string, severityNumber = 9): Buffer {
  return Buffer.from(
    JSON.stringify({
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'beorn' } }] },
          scopeLogs: [
            {
              logRecords: [
                {
                  timeUnixNano: ns(atMs),
                  severityNumber,
                  body: { stringValue: body },
                  traceId,
                  spanId: ROOT,
                },
              ],
            },
          ],
        },
      ],
    }),
  );
}

describe('late spans and logs of a trace', () => {
  let h: PipelineHarness;
  const json = contentTypeHeader('otlp_json');

  const spans = (traceId: string, list: Parameters<typeof spansMessage>[1]) =>
    h.produce(h.topics.traces, [{ value: spansMessage(traceId, list), partition: 0, headers: json }]);
  const log = (traceId: string, atMs: number, body: string, severity?: number) =>
    h.produce(h.topics.logs, [
      { value: logMessage(traceId, atMs, body, severity), partition: 0, headers: json },
    ]);
  /** A trace of its own whose event time moves the correlator's stream time to `atMs`. */
  const advanceTo = (atMs: number) =>
    spans(`ff${String(atMs - t0).padStart(30, '0')}`, [{ id: '9000000000000009', atMs }]);

  async function correlation(): Promise<CorrelationRow | undefined> {
    const built = buildCorrelationsQuery(h.config.clickhouse.database, { traceId: TRACE }, 10);
    const rows = await h.app.clickhouse.query({
      query: built.query,
      query_params: built.params,
      format: 'JSONEachRow',
    });
    return (await rows.json<CorrelationRow>())[0];
  }

  async function traceAlerts(): Promise<{ rule_id: string; ids: string }[]> {
    const rows = await h.app.clickhouse.query({
      query: `SELECT rule_id, toString(groupUniqArray(id)) AS ids FROM stacklens_alerts FINAL
              WHERE related_trace_id = {trace:String} GROUP BY rule_id ORDER BY rule_id`,
      query_params: { trace: TRACE },
      format: 'JSONEachRow',
    });
    return rows.json();
  }

  const counts = async () => {
    const c = await correlation();
    return c === undefined ? undefined : { spans: Number(c.span_count), logs: Number(c.log_count) };
  };

  beforeAll(async () => {
    // Window 2 s, grace 1 s: the correlator keeps an emitted trace 10 windows (20 s) of stream time.
    h = await startPipelineHarness('it-late-corr');
  });

  afterAll(async () => {
    await h?.stop();
  });

  it('adds each late record to the correlation, keeps one alert per trace rule, and a replay changes nothing', async () => {
    await spans(TRACE, [{ id: ROOT, atMs: t0, error: true }]);
    await log(TRACE, t0 + 100, 'order received');

    // Within grace: stream time is past the trace's last event + window, not + grace.
    await advanceTo(t0 + 2_500);
    await spans(TRACE, [{ id: '1000000000000002', parent: ROOT, atMs: t0 + 200, service: 'beorn' }]);
    await h.waitFor('the trace with its span in grace', async () => (await counts())?.spans === 2);

    // After the emission: stream time past window + grace; the trace's alert is raised.
    await advanceTo(t0 + 10_000);
    await h.waitFor('the trace-error alert', async () => (await traceAlerts()).length > 0);
    await log(TRACE, t0 + 300, 'payment declined', 17);
    await h.waitFor('the log that came after the emission', async () => (await counts())?.logs === 2);

    // After the eviction: stream time past the retention. A span older than stream time − retention
    // (the correlator reports it late) and a log within it (it starts a new state in the correlator).
    await advanceTo(t0 + 60_000);
    await advanceTo(t0 + 61_000);
    await spans(TRACE, [{ id: '1000000000000003', parent: ROOT, atMs: t0 + 400, service: 'palantir' }]);
    await log(TRACE, t0 + 45_000, 'retry finished');
    await advanceTo(t0 + 70_000);

    await h.waitFor('every record of the trace in its correlation, and the pipeline caught up', async () => {
      const c = await counts();
      return c?.spans === 3 && c.logs === 3 && (await h.caughtUp());
    });
    const before = await correlation();
    expect(before).toMatchObject({
      trace_id: TRACE,
      root_span_id: ROOT,
      root_service: 'arda',
      services: ['arda', 'beorn', 'palantir'],
      span_count: 3,
      log_count: 3,
      error_count: 2,
      first_error_message: 'upstream failed',
    });
    expect(Number(before!.version)).toBe(6);
    const late = await h.query<{ n: string }>(
      `SELECT count() AS n FROM otel_traces WHERE TraceId = '${TRACE}' AND SpanId = '1000000000000003'`,
    );
    expect(late).toEqual([{ n: '1' }]);

    // The correlator re-evaluated the trace after each change (after the emission, and its new state
    // after the eviction): still one alert per trace rule.
    // (The log 45 s in makes the trace slow, so slow-trace fires too; the error log fires log rules.)
    const alerts = await traceAlerts();
    expect(alerts.map((a) => a.rule_id)).toEqual(expect.arrayContaining(['slow-trace', 'trace-error']));
    for (const a of alerts) expect(JSON.parse(a.ids.replace(/'/g, '"'))).toHaveLength(1);

    // A replay of the whole input into the same tables: the same parts and alerts, nothing added.
    await h.app.streams.stop();
    await h.app.archive.stop();
    const request = parseReplayRequest({ from: '0' });
    const replay = await startTopicReplay({
      config: h.config,
      logger: h.logger,
      request,
      applicationId: replayApplicationId(h.config.kafka.applicationId, replayId(request)),
      clickhouse: h.app.clickhouse,
      instanceId: 'it',
    });
    expect((await replay.done).completed).toBe(true);
    expect(await correlation()).toEqual(before);
    expect(await traceAlerts()).toEqual(alerts);
    const parts = await h.query<{ n: string }>(
      `SELECT count() AS n FROM stacklens_correlation_parts FINAL WHERE trace_id = '${TRACE}'`,
    );
    expect(parts).toEqual([{ n: '6' }]);
  });
});
