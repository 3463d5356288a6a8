import type { Logger } from '../../common/logger';
import type { StackLensConfig } from '../../config/config';
import type { AlertRules } from '../../processors/alerts';
import { createRecordPipeline } from '../../processors/pipeline';
import { kafkaClient } from '../stacklens-app';
import { stackLensTopics } from '../topics';
import { Backtest, type BacktestReport } from './backtest-engine';
import { readArchiveHistory, readTopicHistory, type HistorySink, type TimeRange } from './history-sources';

export interface BacktestRequest {
  rules: AlertRules;
  range: TimeRange;
  source: 'topics' | 'archive';
}

/**
 * `stacklens rules backtest`: the history of the range, decoded, redacted and enriched as the pipeline
 * does, through a candidate rules file; reports what each rule would have raised. Publishes and
 * delivers nothing and writes to no table (it does not even connect to ClickHouse).
 */
export async function runBacktest(
  config: StackLensConfig,
  logger: Logger,
  request: BacktestRequest,
): Promise<BacktestReport & { undecodable: number }> {
  const windowMs = config.correlation.windowSeconds * 1_000;
  const backtest = new Backtest(request.rules, {
    windowMs,
    graceMs: config.correlation.graceSeconds * 1_000,
    maxOpenTraces: 200_000,
  });
  let undecodable = 0;
  const sink: HistorySink = {
    log: (r) => backtest.addLog(r),
    span: (r) => backtest.addSpan(r),
    undecodable: () => undecodable++,
  };
  const records = createRecordPipeline({ limits: config.records, redaction: config.redaction });
  const topics = stackLensTopics(config);
  if (request.source === 'archive') {
    await readArchiveHistory({ config, topics, range: request.range, records, sink });
  } else {
    const kafka = kafkaClient(config, logger, `${config.kafka.applicationId}-backtest`);
    await readTopicHistory({
      kafka,
      topics,
      applicationId: config.kafka.applicationId,
      range: request.range,
      records,
      sink,
    });
  }
  return { ...backtest.finish(), undecodable };
}
