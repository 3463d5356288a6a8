import { logLevel, type LogEntry } from 'kafkajs';
import type { Logger } from '../../common/logger';

type Level = 'error' | 'warn' | 'debug';

/**
 * The level a kafkajs log entry deserves. kafkajs logs every error response a connection receives,
 * and every failed attempt it is about to retry, at ERROR: after each transaction commit the broker
 * answers the next AddPartitionsToTxn with CONCURRENT_TRANSACTIONS, which would flood the log. Those
 * are handled by the caller or retried, so they are debug; what kafkajs gives up on stays an error,
 * and so does what the runtime then does about it.
 */
export function kafkajsLogLevel(entry: Pick<LogEntry, 'namespace' | 'level' | 'log'>): Level {
  if (entry.level !== logLevel.ERROR) return entry.level === logLevel.WARN ? 'warn' : 'debug';
  if (entry.namespace === 'Connection') return 'debug';
  if ((entry.log as { retryCount?: unknown }).retryCount !== undefined) return 'debug';
  return 'error';
}

/** A kafkajs logCreator writing to our structured logger at the levels above. */
export function kafkajsLogCreator(logger: Logger): () => (entry: LogEntry) => void {
  return () => (entry) => {
    const { message, ...extra } = entry.log;
    logger[kafkajsLogLevel(entry)]({ kafkajs: entry.namespace, ...extra }, message);
  };
}
