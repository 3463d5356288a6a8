import { ExportLogsServiceRequest } from '../../processors/otlp/proto';
import { startPipelineHarness, type PipelineHarness } from '../support/pipeline-harness';

// Issue 12: OTLP's LogRecord.event_name (opentelemetry-proto 1.5+) arrives in protobuf from the
// Collector's Kafka exporter. Built with the code generated from the official .proto files, it must reach
// otel_logs.EventName and the archived OTLP/JSON, with the other fields the older definitions lacked.
const now = Date.now();
const EVENT_NAME = `checkout.payment_declined.${now}`;
const TRACE_ID = '5b8efff798038103d269b633813fc60c';

const message = Buffer.from(
  ExportLogsServiceRequest.encode(
    // fromObject takes the 64-bit times as decimal strings.
    ExportLogsServiceRequest.fromObject({
      resourceLogs: [
        {
          resource: {
            attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }],
            droppedAttributesCount: 2,
            entityRefs: [{ type: 'service', idKeys: ['service.name'] }],
          },
          scopeLogs: [
            {
              scope: { name: 'checkout.events' },
              logRecords: [
                {
                  timeUnixNano: String(BigInt(now - 2_000) * 1_000_000n),
                  severityNumber: 13,
                  body: { stringValue: 'card declined' },
                  traceId: Buffer.from(TRACE_ID, 'hex'),
                  eventName: EVENT_NAME,
                  droppedAttributesCount: 3,
                },
                {
                  timeUnixNano: String(BigInt(now - 1_000) * 1_000_000n),
                  body: { stringValue: 'plain log' },
                },
              ],
            },
          ],
        },
      ],
    }),
  ).finish(),
);

describe('OTLP event_name from protobuf', () => {
  let harness: PipelineHarness;

  beforeAll(async () => {
    harness = await startPipelineHarness('event-name');
  });

  afterAll(async () => {
    await harness?.stop();
  });

  it('reaches otel_logs.EventName and the archive', async () => {
    const { topics } = harness;
    await harness.produce(topics.logs, [
      { value: message, partition: 0, headers: { 'content-type': 'application/x-protobuf' } },
    ]);

    type Row = { Body: string; EventName: string };
    let rows: Row[] = [];
    await harness.waitFor('both logs in otel_logs', async () => {
      rows = await harness.query<Row>(
        `SELECT Body, EventName FROM otel_logs WHERE TraceId = '${TRACE_ID}' OR Body = 'plain log' ORDER BY Body`,
      );
      return rows.length === 2;
    });
    expect(rows).toEqual([
      { Body: 'card declined', EventName: EVENT_NAME },
      { Body: 'plain log', EventName: '' },
    ]);

    type Archived = {
      resourceLogs: {
        resource: Record<string, unknown>;
        scopeLogs: { logRecords: Record<string, unknown>[] }[];
      }[];
    };
    let archived: Archived | undefined;
    await harness.waitFor('the archive object', async () => {
      for (const document of (await harness.archivedDocuments()).values()) {
        if (JSON.stringify(document).includes(EVENT_NAME)) archived = document as Archived;
      }
      return archived !== undefined;
    });
    const resource = archived!.resourceLogs[0]!;
    expect(resource.resource).toEqual({
      attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }],
      droppedAttributesCount: 2,
      entityRefs: [{ type: 'service', idKeys: ['service.name'] }],
    });
    const [declined, plain] = resource.scopeLogs[0]!.logRecords;
    expect(declined).toMatchObject({ eventName: EVENT_NAME, droppedAttributesCount: 3, traceId: TRACE_ID });
    expect(plain).not.toHaveProperty('eventName');
  });
});
