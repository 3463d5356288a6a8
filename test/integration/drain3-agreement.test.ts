import { ensureDrain3, runDrain3 } from '../../bench/drain3/drain3-reference';
import { generateLogLines } from '../../bench/drain3/log-lines';
import { stackSettingsFromEnv } from '../../infra/stack-settings';
import { DEFAULT_DRAIN_SETTINGS, Drain, type DrainSettings } from '../../processors/patterns/drain';

/**
 * The Drain miner against its reference, Drain3 from PyPI (installed by the project into the stack
 * cache on first use): the same lines with the same settings must give the same cluster for every
 * line and the same clusters (ids, templates, sizes).
 */
describe('Drain agrees with Drain3', () => {
  let python: string;
  beforeAll(async () => {
    python = await ensureDrain3(stackSettingsFromEnv());
  }, 300_000);

  const cases: [string, DrainSettings][] = [
    ['default settings', DEFAULT_DRAIN_SETTINGS],
    [
      'a deep tree, few children and a cluster bound (wildcard branches, forgotten clusters)',
      { ...DEFAULT_DRAIN_SETTINGS, depth: 6, simTh: 0.5, maxChildren: 3, maxClusters: 12 },
    ],
    [
      'extra delimiters, no numeric parametrization, no masks',
      {
        ...DEFAULT_DRAIN_SETTINGS,
        depth: 3,
        simTh: 0.3,
        masks: [],
        parametrizeNumericTokens: false,
        extraDelimiters: ['=', ','],
      },
    ],
  ];

  it.each(cases)('%s', async (_name, settings) => {
    const lines = generateLogLines(4000, 11);
    const reference = await runDrain3(python, settings, lines);
    const drain = new Drain(settings);
    const lineClusters = lines.map((line) => drain.add(line).clusterId);
    const clusters = [...drain.allClusters()]
      .map((c) => ({ id: c.id, template: c.tokens.join(' '), size: c.size }))
      .sort((a, b) => a.id - b.id);

    expect(reference.clusters.length).toBeGreaterThan(5);
    expect(lineClusters).toEqual(reference.line_clusters);
    expect(clusters).toEqual(reference.clusters);
  });
});
