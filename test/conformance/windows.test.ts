import { buildHarness, runKafkaStreams } from './kstreams-harness';
import { lateInKafkaStreams, type Scenario, type ScenarioResult } from './scenario';
import { runStackLens } from './stacklens-runner';
import { WINDOW_CASES } from './window-cases';

/**
 * Window aggregations of StackLens against Kafka Streams' own: every case runs through Kafka Streams'
 * TopologyTestDriver (one JVM for the whole file) and through StackLens' TopologyTestDriver, and the
 * outputs each input record causes (keys, windows, values, timestamps, order) and whether it was
 * dropped as late must be equal. `emit: 'final'` is compared with Kafka Streams' ways to emit final
 * results: `emitStrategy(onWindowClose())`, and for time windows also `suppress(untilWindowCloses(...))`
 * (on session windows suppress emits one ms before the session is closed to merges, see
 * topology/README.md).
 */
const VARIANTS = [
  { label: 'updates', emit: 'updates', finalVia: undefined },
  { label: 'final (onWindowClose)', emit: 'final', finalVia: 'onWindowClose' },
  { label: 'final (suppress)', emit: 'final', finalVia: 'suppress' },
] as const;

const SCENARIOS: Scenario[] = WINDOW_CASES.flatMap((c) =>
  VARIANTS.filter(
    (v) =>
      (c.windows.type !== 'session' || v.finalVia !== 'suppress') && (!c.updatesOnly || v.emit === 'updates'),
  ).map((variant): Scenario => ({
    name: `${c.name} [${variant.label}]`,
    topology: { kind: 'window', windows: c.windows, emit: variant.emit, finalVia: variant.finalVia },
    records: c.records,
  })),
);

let expected: Map<string, ScenarioResult>;

beforeAll(async () => {
  const results = await runKafkaStreams(await buildHarness(), SCENARIOS);
  expected = new Map(results.map((result) => [result.name, result]));
}, 900_000);

describe('window aggregations give Kafka Streams results', () => {
  it.each(SCENARIOS.map((s) => [s.name, s] as const))('%s', (_name, scenario) => {
    const kafkaStreams = expected.get(scenario.name);
    expect(kafkaStreams).toBeDefined();
    const stackLens = runStackLens(scenario);
    const view = (result: ScenarioResult, late: (i: number) => boolean) =>
      result.steps.map((step, i) => ({
        input: scenario.records[i],
        outputs: step.outputs,
        late: late(i),
      }));
    expect(view(stackLens, (i) => stackLens.steps[i]!.late === true)).toEqual(
      view(kafkaStreams!, (i) => lateInKafkaStreams(kafkaStreams!.steps[i]!)),
    );
  });
});
