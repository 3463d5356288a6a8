import { BrokerBaselineError, parseConsumerPerformance } from './broker-baseline';

// Output of Kafka 4.3.1's ConsumerPerformance, as printed against the local stack.
const HEADER =
  'start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec';

describe('parseConsumerPerformance', () => {
  it('names the figures of the report line', () => {
    const output = `${HEADER}\n2026-11-22 08:21:36:750, 2026-11-22 08:21:37:710, 0.0477, 0.0497, 500, 520.8333, 804, 156, 0.3057, 3205.1282\n`;
    expect(parseConsumerPerformance(output)).toEqual({
      records: 500,
      megabytes: 0.0477,
      elapsedMs: 960,
      recordsPerSecond: 520.8333,
      megabytesPerSecond: 0.0497,
      rebalanceMs: 804,
      fetchMs: 156,
      fetchRecordsPerSecond: 3205.1282,
      fetchMegabytesPerSecond: 0.3057,
    });
  });

  it("skips the tool's warnings between header and figures", () => {
    const output = [
      HEADER,
      'WARNING: Exiting before consuming the expected number of records: timeout (2000 ms) exceeded.',
      '2026-11-22 08:21:40:099, 2026-11-22 08:21:42:441, 0.0477, 0.0204, 500, 213.4927, 278, 2064, 0.0231, 242.2481',
    ].join('\n');
    expect(parseConsumerPerformance(output)).toMatchObject({ records: 500, elapsedMs: 2342 });
  });

  it('fails clearly on output it does not know', () => {
    expect(() => parseConsumerPerformance('Exception in thread "main"')).toThrow(BrokerBaselineError);
    expect(() => parseConsumerPerformance(`${HEADER}\n1, 2, x, y, z, 1, 2, 3, 4, 5`)).toThrow(
      /no number for data.consumed.in.nMsg/,
    );
  });
});
