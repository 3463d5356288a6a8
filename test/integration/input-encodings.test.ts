import { zipkin } from '../../processors/otlp/generated/zipkin';
import { startPipelineHarness, type PipelineHarness } from '../support/pipeline-harness';

// Issue 12: topics written by the Collector's kafka exporter with `encoding: text` (logs) and
// `encoding: zipkin_proto` (traces), read with INPUT_ENCODING_LOGS / INPUT_ENCODING_TRACES set alike:
// the records land in ClickHouse and the archive keeps them as OTLP.
const now = Date.now();
const TRACE_ID = '7a3c1f0e9b8d4c2a1f0e9b8d4c2a1f0e';
const SPAN_ID = '1f0e9b8d4c2a1f0e';
const LINE = `checkout: payment ${now} declined`;

const span = Buffer.from(
  zipkin.proto3.ListOfSpans.encode({
    spans: [
      {
        traceId: Buffer.from(TRACE_ID, 'hex'),
        id: Buffer.from(SPAN_ID, 'hex'),
        kind: zipkin.proto3.Span.Kind.CLIENT,
        name: 'charge card',
        timestamp: (now - 3_000) * 1_000,
        duration: 1_500,
        localEndpoint: { serviceName: 'checkout' },
      },
    ],
  }).finish(),
);

describe('input encodings on the local stack', () => {
  let harness: PipelineHarness;

  beforeAll(async () => {
    harness = await startPipelineHarness('input-encodings', {
      INPUT_ENCODING_LOGS: 'text',
      INPUT_ENCODING_TRACES: 'zipkin_proto',
    });
  });

  afterAll(async () => {
    await harness?.stop();
  });

  it('materializes a text log and a Zipkin protobuf span, and archives them as OTLP', async () => {
    const { topics } = harness;
    await harness.produce(topics.logs, [{ value: Buffer.from(LINE), partition: 0 }]);
    await harness.produce(topics.traces, [{ value: span, partition: 0 }]);

    await harness.waitFor('the span in otel_traces', async () => {
      const rows = await harness.query<{ SpanName: string; SpanKind: string; ServiceName: string }>(
        `SELECT SpanName, SpanKind, ServiceName FROM otel_traces WHERE TraceId = '${TRACE_ID}'`,
      );
      return rows.length === 1 && rows[0]!.SpanName === 'charge card' && rows[0]!.ServiceName === 'checkout';
    });
    let logRows: { ms: string }[] = [];
    await harness.waitFor('the text log in otel_logs', async () => {
      logRows = await harness.query<{ ms: string }>(
        `SELECT toString(toUnixTimestamp64Milli(Timestamp)) AS ms FROM otel_logs WHERE Body = '${LINE}'`,
      );
      return logRows.length === 1;
    });
    // A text message has no time of its own: it takes its Kafka timestamp, not 1970.
    expect(Math.abs(Number(logRows[0]!.ms) - now)).toBeLessThan(10 * 60_000);
    await harness.waitFor('both in the archive', async () => {
      const text = JSON.stringify([...(await harness.archivedDocuments()).values()]);
      return text.includes(`"stringValue":"${LINE}"`) && text.includes(`"traceId":"${TRACE_ID}"`);
    });
    expect(harness.deadLetters).toEqual([]);
  });
});
