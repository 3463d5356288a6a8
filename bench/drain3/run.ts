/**
 * Benchmark of the Drain miner against Drain3 (PyPI) on the same lines with the same settings:
 * prints lines per second of each (mining only: Drain3's time is measured inside Python, without
 * interpreter start or I/O; ours after a warm-up pass on a fresh miner). Not run by the tests.
 *
 *   npm run build && npm run bench:drain [-- <lines>]
 */
import { stackSettingsFromEnv } from '../../infra/stack-settings';
import { DEFAULT_DRAIN_SETTINGS, Drain } from '../../processors/patterns/drain';
import { ensureDrain3, runDrain3 } from './drain3-reference';
import { generateLogLines } from './log-lines';

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 200_000);
  const lines = generateLogLines(count, 3);
  const settings = DEFAULT_DRAIN_SETTINGS;

  const warmUp = new Drain(settings);
  for (const line of lines.slice(0, 20_000)) warmUp.add(line);
  const drain = new Drain(settings);
  const started = process.hrtime.bigint();
  for (const line of lines) drain.add(line);
  const ours = Number(process.hrtime.bigint() - started) / 1e9;

  const reference = await runDrain3(await ensureDrain3(stackSettingsFromEnv()), settings, lines);
  const rate = (seconds: number) => Math.round(count / seconds).toLocaleString('en-US');
  console.log(`lines: ${count}, clusters: ours ${drain.clusterCount}, drain3 ${reference.clusters.length}`);
  console.log(`stacklens drain: ${rate(ours)} lines/s (${ours.toFixed(2)} s)`);
  console.log(`drain3 (python): ${rate(reference.seconds)} lines/s (${reference.seconds.toFixed(2)} s)`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
