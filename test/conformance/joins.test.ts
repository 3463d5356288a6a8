import { JOIN_CASES } from './join-cases';
import { buildHarness, runKafkaStreams } from './kstreams-harness';
import { lateInKafkaStreams, type Scenario, type ScenarioResult } from './scenario';
import { runStackLens } from './stacklens-runner';

/**
 * Stream-stream joins of StackLens against Kafka Streams' own: every case runs as an inner, a left and
 * an outer join through Kafka Streams' TopologyTestDriver (one JVM for the whole file) and through
 * StackLens' TopologyTestDriver; the outputs each input record causes (keys, values, timestamps,
 * order) and whether it was dropped as late must be equal.
 */
const SCENARIOS: Scenario[] = JOIN_CASES.flatMap((c) =>
  (['inner', 'left', 'outer'] as const).map((join): Scenario => ({
    name: `${c.name} [${join}]`,
    topology: { kind: 'join', join, timeDifferenceMs: c.timeDifferenceMs, graceMs: c.graceMs },
    records: c.records,
  })),
);

let expected: Map<string, ScenarioResult>;

beforeAll(async () => {
  const results = await runKafkaStreams(await buildHarness(), SCENARIOS);
  expected = new Map(results.map((result) => [result.name, result]));
}, 900_000);

describe('stream-stream joins give Kafka Streams results', () => {
  it.each(SCENARIOS.map((s) => [s.name, s] as const))('%s', (_name, scenario) => {
    const kafkaStreams = expected.get(scenario.name);
    expect(kafkaStreams).toBeDefined();
    const stackLens = runStackLens(scenario);
    const view = (result: ScenarioResult, late: (i: number) => boolean) =>
      result.steps.map((step, i) => ({ input: scenario.records[i], outputs: step.outputs, late: late(i) }));
    expect(view(stackLens, (i) => stackLens.steps[i]!.late === true)).toEqual(
      view(kafkaStreams!, (i) => lateInKafkaStreams(kafkaStreams!.steps[i]!)),
    );
  });
});
