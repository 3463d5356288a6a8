import { logLevel } from 'kafkajs';
import { kafkajsLogLevel } from './kafkajs-log';

const entry = (namespace: string, level: logLevel, log: Record<string, unknown> = {}) => ({
  namespace,
  level,
  label: 'ERROR',
  log: { timestamp: '', message: 'm', ...log },
});

describe('kafkajsLogLevel', () => {
  it('keeps what kafkajs gives up on as an error', () => {
    expect(kafkajsLogLevel(entry('Producer', logLevel.ERROR))).toBe('error');
  });

  it('lowers retried attempts and raw error responses to debug', () => {
    expect(kafkajsLogLevel(entry('Producer', logLevel.ERROR, { retryCount: 0, retryTime: 20 }))).toBe(
      'debug',
    );
    expect(kafkajsLogLevel(entry('Connection', logLevel.ERROR, { error: 'CONCURRENT_TRANSACTIONS' }))).toBe(
      'debug',
    );
  });

  it('keeps warnings and turns info and debug into debug', () => {
    expect(kafkajsLogLevel(entry('Consumer', logLevel.WARN))).toBe('warn');
    expect(kafkajsLogLevel(entry('Consumer', logLevel.INFO))).toBe('debug');
  });
});
