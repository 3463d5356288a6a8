import { Registry } from 'prom-client';
import { createLogger } from '../../common/logger';
import { StreamsRuntimeError } from '../errors';
import { resolveOptions, type StreamsAppOptions } from './options';

const base: StreamsAppOptions = {
  applicationId: 'app',
  instanceId: 'test',
  brokers: ['127.0.0.1:9'],
  logger: createLogger({ level: 'silent', format: 'json' }),
  registry: new Registry(),
};

describe('resolveOptions', () => {
  it('keeps the defaults for options given as undefined', () => {
    const resolved = resolveOptions({ ...base, fetchMinBytes: undefined, commitIntervalMs: 250 });
    expect(resolved.fetchMinBytes).toBe(1);
    expect(resolved.maxFetchBytesPerPartition).toBe(1024 * 1024);
    expect(resolved.commitIntervalMs).toBe(250);
  });

  it('refuses a fetchMinBytes that one partition cannot fill: every fetch would wait fetchMaxWaitMs', () => {
    expect(() => resolveOptions({ ...base, fetchMinBytes: 4 * 1024 * 1024 })).toThrow(StreamsRuntimeError);
    expect(() => resolveOptions({ ...base, fetchMinBytes: 4 * 1024 * 1024 })).toThrow(
      /fetchMinBytes \(4194304\) is above maxFetchBytesPerPartition \(1048576\)/,
    );
    const filled = resolveOptions({
      ...base,
      fetchMinBytes: 4 * 1024 * 1024,
      maxFetchBytesPerPartition: 4 * 1024 * 1024,
    });
    expect(filled.fetchMinBytes).toBe(filled.maxFetchBytesPerPartition);
  });
});
