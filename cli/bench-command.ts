import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { benchOptions, type BenchOptionsInput } from '../bench/bench-options';
import { benchTable, profileTable } from '../bench/report';
import { runBench } from '../bench/run-bench';
import { createLogger } from '../common/logger';
import { BenchError } from '../bench/errors';
import { usesLocalStack, withLocalStackDefaults } from '../infra/local-stack-env';
import { LocalStack } from '../infra/stack';
import { stackSettingsFromEnv } from '../infra/stack-settings';

function number(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('must be a number');
  return n;
}

interface BenchCommandOptions extends Omit<BenchOptionsInput, 'profileDir' | 'jsonFile'> {
  profile?: string;
  json?: string;
}

export function benchCommand(): Command {
  return new Command('bench')
    .description(
      'measure the pipeline on the local stack: throughput, alert latency and peak memory, next to the broker baseline',
    )
    .option('--traces <n>', 'traces produced for the throughput phase (default 1000)', number)
    .option('--records-per-batch <n>', 'OTLP records per Kafka message (default 200)', number)
    .option('--spans-per-trace <n>', 'spans per trace, at least 5 (default 5)', number)
    .option(
      '--logs-per-span <n>',
      'DEBUG logs inside every span, besides the request’s own (default 2)',
      number,
    )
    .option('--attributes <n>', 'extra attributes on every span and log (default 10)', number)
    .option('--error-ratio <0..1>', 'share of failing traces (default 0.1)', number)
    .option('--latency-rate <n/s>', 'alert probes per second in the latency phase (default 10)', number)
    .option('--latency-probes <n>', 'alert probes in the latency phase (default 150)', number)
    .option('--timeout-seconds <s>', 'bound on each phase (default 300)', number)
    .addOption(
      new Option(
        '--clickhouse <where>',
        'server: chDB in its own process, as the local stack runs it (default); embedded: chDB inside the pipeline process',
      ).choices(['server', 'embedded']),
    )
    .option('--profile <dir>', 'write a V8 CPU profile of the pipeline process into <dir> and summarize it')
    .option('--json <file>', 'also write the figures to <file> as JSON')
    .action(async ({ profile, json, ...rest }: BenchCommandOptions) => {
      const options = benchOptions({
        ...rest,
        profileDir: profile === undefined ? undefined : resolve(profile),
        jsonFile: json === undefined ? undefined : resolve(json),
      });
      if (!usesLocalStack(process.env)) {
        throw new BenchError('the benchmark runs on the local stack only: unset KAFKA_BROKERS');
      }
      const settings = stackSettingsFromEnv(process.env);
      const logger = createLogger({ level: 'warn', format: 'text', name: 'stacklens-bench' });
      await new LocalStack(logger.child({ component: 'stack' }), settings).up();
      const figures = await runBench(options, {
        env: withLocalStackDefaults(process.env, settings),
        settings,
        logger,
        progress: (line) => console.error(line),
      });
      console.log(benchTable(figures));
      if (figures.profile !== undefined) console.log(`\n${profileTable(figures.profile)}`);
      if (options.jsonFile !== undefined) {
        await writeFile(options.jsonFile, `${JSON.stringify(figures, null, 2)}\n`);
        console.error(`figures written to ${options.jsonFile}`);
      }
    });
}
