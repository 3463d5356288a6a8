import { loadConfig } from '../config/config';
import { archiveAppOptions } from './archive-app';

describe('archiveAppOptions', () => {
  it('commits once per ARCHIVE_FLUSH_SECONDS, and one busy partition alone can answer a fetch early', () => {
    const options = archiveAppOptions(
      loadConfig({ APPLICATION_ID: 'sl', ARCHIVE_FLUSH_SECONDS: '30' }),
      'i-1',
    );
    expect(options.applicationId).toBe('sl-archive');
    expect(options.commitIntervalMs).toBe(30_000);
    expect(options.fetchMaxWaitMs).toBe(30_000);
    // The broker counts at most maxFetchBytesPerPartition of a partition towards fetchMinBytes.
    expect(options.maxFetchBytesPerPartition).toBeGreaterThanOrEqual(options.fetchMinBytes!);
  });
});
