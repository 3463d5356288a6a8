import { HEADER, RecordHandlingFailedError, TopologyBuilder, type ExceptionPolicies } from '../../topology';
import { StreamsApp } from '../../topology/runtime/streams-app';
import {
  committedOffset,
  createTopics,
  produce,
  readTopic,
  testAppOptions,
  testKafka,
  uniqueName,
} from '../support/topology-kafka';
import { waitFor } from '../support/wait-for';

jest.setTimeout(120_000);

/** Upper-cases its input; throws on "boom". */
function topology(input: string, output: string) {
  const builder = new TopologyBuilder();
  builder
    .stream<string, string>('in', input)
    .mapValues('shout', (v) => {
      if (v === 'boom') throw new Error('cannot shout boom');
      return v.toUpperCase();
    })
    .to('out', output);
  return builder.build();
}

describe('topology runtime: exception policies on the real broker', () => {
  it('`fail` stops the application at the record, commits nothing of it; `dead-letter` then moves past it', async () => {
    const kafka = testKafka();
    const [input, output, appId] = ['policy-in', 'policy-out', 'policy-app'].map(uniqueName) as [
      string,
      string,
      string,
    ];
    await createTopics(kafka, [
      { topic: input, partitions: 1 },
      { topic: output, partitions: 1 },
    ]);
    await produce(
      kafka,
      input,
      ['a', 'boom', 'b'].map((v, i) => ({ key: JSON.stringify(`k${i}`), value: JSON.stringify(v) })),
    );
    const start = async (exceptionPolicies: ExceptionPolicies) => {
      const app = new StreamsApp(
        topology(input, output),
        testAppOptions(appId, {
          exceptionPolicies,
        }),
      );
      await app.start();
      return app;
    };

    const failing = await start({ deserialization: 'dead-letter', processing: 'fail' });
    const error = await failing.done.then(
      () => undefined,
      (e: unknown) => e,
    );
    await failing.stop();
    expect(error).toBeInstanceOf(RecordHandlingFailedError);
    expect((error as Error).message).toContain(`processing of ${input}-0@1 failed: cannot shout boom`);
    // "boom" (offset 1) is not committed, and neither is "a" if it was in the same checkpoint.
    expect(await committedOffset(kafka, appId, input)).toBeLessThanOrEqual(1);

    const going = await start({ deserialization: 'dead-letter', processing: 'dead-letter' });
    try {
      await waitFor(
        'the input to be committed',
        async () => (await committedOffset(kafka, appId, input)) === 3,
      );
      const outputs = await readTopic(kafka, output, { until: (r) => r.length >= 2 });
      expect(outputs.map((r) => r.value)).toEqual(['"A"', '"B"']);
      const letters = await readTopic(kafka, `${appId}-dlq`, { until: (r) => r.length >= 1 });
      expect(letters).toHaveLength(1);
      expect(letters[0]?.headers[HEADER.sourceOffset]).toBe('1');
    } finally {
      await going.stop();
    }
  });
});
