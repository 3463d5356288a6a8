import {
  TopologyBuilder,
  hoppingWindows,
  joinWindows,
  jsonSerde,
  sessionWindows,
  stringSerde,
  tumblingWindows,
  type KStream,
  type Topology,
  type Windowed,
} from '../../topology';
import { TopologyTestDriver } from '../../topology/testing';
import type { OutputRecord, Scenario, ScenarioResult, Step, TopologySpec } from './scenario';

/** Runs a scenario through StackLens' TopologyTestDriver, one driver (task) per partition. */
export function runStackLens(scenario: Scenario): ScenarioResult {
  const steps: Step[] = [];
  const partitions = new Map<number, number[]>();
  scenario.records.forEach((record, index) => {
    const partition = record.partition ?? 0;
    partitions.set(partition, [...(partitions.get(partition) ?? []), index]);
  });
  for (const indexes of partitions.values()) {
    const driver = new TopologyTestDriver(build(scenario.topology), { applicationId: 'conformance' });
    const output = driver.createOutputTopic<string | Windowed<string>, string | null>('output', {
      keySerde: jsonSerde(),
      valueSerde: stringSerde<string | null>(),
    });
    const late = driver.createOutputTopic(driver.lateTopic, {
      keySerde: stringSerde(),
      valueSerde: stringSerde(),
    });
    for (const index of indexes) {
      const record = scenario.records[index]!;
      driver
        .createInputTopic(record.topic, { keySerde: stringSerde(), valueSerde: stringSerde() })
        .pipe(record.key, record.value, record.timestamp);
      steps[index] = {
        outputs: output
          .readRecords()
          .map(({ key, value, timestamp }): OutputRecord =>
            typeof key === 'string'
              ? { key, value, timestamp }
              : { key: key.key, window: key.window, value, timestamp },
          ),
        late: late.readRecords().length > 0,
      };
    }
    driver.close();
  }
  return { name: scenario.name, steps };
}

const STRINGS = { keySerde: stringSerde(), valueSerde: stringSerde() };

function build(spec: TopologySpec): Topology {
  const builder = new TopologyBuilder();
  if (spec.kind === 'join') {
    const left = builder.stream<string, string>('left', 'left', STRINGS);
    const right = builder.stream<string, string>('right', 'right', STRINGS);
    const options = {
      windows: joinWindows({ timeDifferenceMs: spec.timeDifferenceMs, graceMs: spec.graceMs }),
      keySerde: stringSerde(),
      valueSerde: stringSerde(),
      otherValueSerde: stringSerde(),
    };
    const joiner = (l: string | null, r: string | null): string => `${l}+${r}`;
    const joined: KStream<string, string> =
      spec.join === 'inner'
        ? left.join('join', right, joiner, options)
        : spec.join === 'left'
          ? left.leftJoin('join', right, joiner, options)
          : left.outerJoin('join', right, joiner, options);
    joined.to('out', 'output', { keySerde: jsonSerde(), valueSerde: stringSerde() });
    return builder.build();
  }
  const input = builder.stream<string, string>('input', 'input', STRINGS);
  const aggregation = {
    initializer: () => '',
    aggregator: (_key: string, value: string, aggregate: string) => `${aggregate}${value};`,
    emit: spec.emit,
    ...STRINGS,
    aggregateSerde: stringSerde(),
  };
  const windows = spec.windows;
  const windowedKey = jsonSerde<Windowed<string>>();
  if (windows.type === 'session') {
    input
      .windowedBy(sessionWindows({ inactivityGapMs: windows.gapMs, graceMs: windows.graceMs }))
      .aggregate('agg', { ...aggregation, merger: (_key, a, b) => `${a}${b}` })
      .to('out', 'output', { keySerde: windowedKey, valueSerde: stringSerde<string | null>() });
  } else {
    const timeWindows =
      windows.type === 'tumbling'
        ? tumblingWindows({ sizeMs: windows.sizeMs, graceMs: windows.graceMs })
        : hoppingWindows(windows);
    input
      .windowedBy(timeWindows)
      .aggregate('agg', aggregation)
      .to('out', 'output', { keySerde: windowedKey, valueSerde: stringSerde() });
  }
  return builder.build();
}
