import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { runBacktest } from '../app/backtest/run-backtest';
import { formatBacktestTable } from '../app/backtest/backtest-engine';
import { ReplayArgumentError, parsePosition } from '../app/replay/replay-arguments';
import { loadConfig } from '../config/config';
import { createLogger } from '../common/logger';
import { parseAlertRulesText } from '../processors/alerts';
import { withLocalStackDefaults } from '../infra/local-stack-env';
import { stackSettingsFromEnv } from '../infra/stack-settings';

interface BacktestOptionValues {
  rules: string;
  from: string;
  to?: string;
  source: string;
  format: string;
}

/** `stacklens rules …`: work on alert rules files. */
export function rulesCommand(): Command {
  const rules = new Command('rules').description('alert rules files');
  rules
    .command('backtest')
    .description(
      'replay a range of history (topics or archive) through a candidate rules file and report, per rule, ' +
        'what would have fired and when; publishes, delivers and writes nothing',
    )
    .requiredOption('--rules <file>', 'the candidate alert rules file (the format of ALERT_RULES_FILE)')
    .requiredOption('--from <time>', 'start, inclusive: an RFC 3339 time with zone')
    .option('--to <time>', 'end, exclusive: an RFC 3339 time with zone; default: now')
    .option('--source <source>', 'topics or archive', 'topics')
    .option('--format <format>', 'table or json', 'table')
    .action(async (values: BacktestOptionValues) => {
      const range = {
        fromMs: time('--from', values.from),
        toMs: values.to === undefined ? Date.now() : time('--to', values.to),
      };
      if (range.toMs <= range.fromMs) throw new ReplayArgumentError('--to must be after --from');
      if (values.source !== 'topics' && values.source !== 'archive')
        throw new ReplayArgumentError(
          `--source ${JSON.stringify(values.source)}: expected topics or archive`,
        );
      if (values.format !== 'table' && values.format !== 'json')
        throw new ReplayArgumentError(`--format ${JSON.stringify(values.format)}: expected table or json`);
      const candidate = parseAlertRulesText(readFileSync(values.rules, 'utf8'));
      // The local stack's endpoints unless KAFKA_BROKERS etc. are set; the stack is not started.
      const env =
        process.env.KAFKA_BROKERS === undefined
          ? withLocalStackDefaults(process.env, stackSettingsFromEnv())
          : process.env;
      const config = loadConfig(env);
      const logger = createLogger({ level: 'warn', format: config.log.format, name: 'stacklens-backtest' });
      const report = await runBacktest(config, logger, { rules: candidate, range, source: values.source });
      process.stdout.write(
        `${values.format === 'json' ? JSON.stringify(report, null, 2) : formatBacktestTable(report)}\n`,
      );
    });
  return rules;
}

function time(option: string, value: string): number {
  const position = parsePosition(option, value);
  if (!('timestampMs' in position))
    throw new ReplayArgumentError(`${option}: a backtest range is given in times, not offsets`);
  return position.timestampMs;
}
