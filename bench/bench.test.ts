import { archivedMessages, minuteFolders } from './archive-coverage';
import { benchOptions, BenchOptionsError } from './bench-options';
import { CpuProfileError, summarizeCpuProfile } from './cpu-profile';
import { benchTable, formatNumber, formatTable, profileTable, type BenchFigures } from './report';
import { benchAlertRules, PROBE_RULE_ID, sendGroups } from './run-bench';
import { percentile, perSecond } from './stats';
import { parseAlertRulesText } from '../processors/alerts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

describe('percentile', () => {
  it('picks the nearest-rank value, always one of the measured values', () => {
    const values = [15, 20, 35, 40, 50];
    expect(percentile(values, 50)).toBe(35);
    expect(percentile(values, 30)).toBe(20);
    expect(percentile(values, 100)).toBe(50);
    expect(percentile(values, 1)).toBe(15);
  });

  it('does not depend on the order of the values, nor reorder them', () => {
    const values = [9, 1, 5, 3, 7, 2, 8, 4, 6, 10];
    expect(percentile(values, 99)).toBe(10);
    expect(percentile(values, 90)).toBe(9);
    expect(percentile(values, 50)).toBe(5);
    expect(values[0]).toBe(9);
  });

  it('has no value for no values, and rejects percentiles outside (0, 100]', () => {
    expect(percentile([], 50)).toBeUndefined();
    expect(() => percentile([1], 0)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });

  it('turns counts and milliseconds into rates', () => {
    expect(perSecond(500, 250)).toBe(2_000);
    expect(perSecond(10, 0)).toBe(0);
  });
});

describe('benchOptions', () => {
  it('fills in the defaults', () => {
    const options = benchOptions();
    expect(options).toMatchObject({
      spansPerTrace: 5,
      errorRatio: 0.1,
      recordsPerBatch: 200,
      clickhouse: 'server',
    });
    expect(options.profileDir).toBeUndefined();
  });

  it('names every option that is out of range at once', () => {
    let error: unknown;
    try {
      benchOptions({ traces: 0, spansPerTrace: 4, errorRatio: 1.5, latencyRate: -1, recordsPerBatch: 2.5 });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(BenchOptionsError);
    const message = (error as Error).message;
    for (const name of ['traces', 'spansPerTrace', 'errorRatio', 'latencyRate', 'recordsPerBatch']) {
      expect(message).toContain(`${name}:`);
    }
  });

  it('rejects options it does not know', () => {
    expect(() => benchOptions({ tracez: 5 } as never)).toThrow(BenchOptionsError);
  });
});

describe('formatTable', () => {
  it('pads columns to their widest cell and right-aligns numbers', () => {
    const table = formatTable(
      ['figure', 'value'],
      [
        ['throughput', '1,234 records/s'],
        ['p99', '87 ms'],
        ['received', 'all'],
      ],
    );
    expect(table.split('\n')).toEqual([
      'figure      value',
      '----------  ---------------',
      'throughput  1,234 records/s',
      'p99                   87 ms',
      'received    all',
    ]);
  });

  it('formats numbers with fewer decimals as they grow', () => {
    expect(formatNumber(12_345.6)).toBe('12,346');
    expect(formatNumber(42.42)).toBe('42.4');
    expect(formatNumber(0.5)).toBe('0.50');
  });
});

describe('benchTable', () => {
  const figures: BenchFigures = {
    runId: 'r',
    startedAt: '2026-01-01T00:00:00.000Z',
    machine: { cpus: 2, cpuModel: 'cpu', memoryGiB: 24, node: 'v20' },
    options: benchOptions(),
    workload: { traces: 10, spans: 50, logs: 50, records: 100, messages: 10, megabytes: 1 },
    pipeline: {
      elapsedMs: 2_000,
      clickhouseElapsedMs: 1_500,
      archiveElapsedMs: 1_700,
      committedElapsedMs: 2_000,
      recordsPerSecond: 50,
      messagesPerSecond: 5,
      megabytesPerSecond: 0.5,
      peakRssMiB: 300,
      largestRssSampleMiB: { anon: 270, file: 25 },
      clickhouseServerPeakRssMiB: 420,
      throughputWindow: {
        wallMs: 2_500,
        cpuUserMs: 2_000,
        cpuSystemMs: 1_000,
        cpuMs: 3_000,
        mainThreadCpuMs: 1_800,
        otherThreadsCpuMs: { node: 200, MergeMutate: 950, ThreadPool: 40 },
        eventLoopDelayMs: { p99: 42, max: 310 },
        coresUsed: 1.2,
        stackCpuMs: { s3: 100, kafka: 1_400 },
      },
    },
    broker: {
      records: 10,
      megabytes: 1,
      elapsedMs: 3_100,
      recordsPerSecond: 3.2,
      megabytesPerSecond: 0.32,
      rebalanceMs: 3_000,
      fetchMs: 100,
      fetchRecordsPerSecond: 100,
      fetchMegabytesPerSecond: 10,
    },
    ratio: 0.05,
    latency: { ratePerSecond: 10, probes: 3, received: 2, p50Ms: 120, p99Ms: null, maxMs: 130 },
  };

  it('puts pipeline, broker and their ratio side by side, with units', () => {
    const table = benchTable(figures);
    // The broker fetched 100 messages/s of 10 records each.
    expect(table).toMatch(/throughput\s+50\.0 records\/s\s+1,000 records\/s\s+5\.00 %/);
    expect(table).toMatch(/5\.00 messages\/s\s+100 messages\/s\s+5\.00 %/);
    expect(table).toMatch(/alert latency p50 \(10\.0\/s\)\s+120 ms/);
    expect(table).toMatch(/alert latency p99 \(10\.0\/s\)\s+n\/a/);
    expect(table).toContain('2 of 3');
    expect(table).toMatch(/main thread event-loop delay p99 \/ max\s+42\.0 \/ 310 ms/);
    expect(table).toMatch(
      /peak RSS\s+300 MiB\s+largest sample: anon \+ file-backed\s+270 \+ 25\.0 MiB\s+ClickHouse server process\s+420 MiB/,
    );
    const embedded = benchTable({
      ...figures,
      options: benchOptions({ clickhouse: 'embedded' }),
      pipeline: { ...figures.pipeline, clickhouseServerPeakRssMiB: null, largestRssSampleMiB: null },
    });
    expect(embedded).toMatch(/peak RSS \(chDB embedded\)\s+300 MiB/);
    expect(embedded).not.toContain('ClickHouse server process');
    expect(embedded).not.toContain('largest sample');
    // Which application the throughput waited for.
    expect(table).toMatch(
      /pipeline committed all\s+2\.00 s\s+ClickHouse holds all\s+1\.50 s\s+archive covers all\s+1\.70 s/,
    );
  });

  it('shows the pipeline’s CPU time over the throughput window and the cores it used', () => {
    const table = benchTable(figures);
    expect(table).toMatch(/CPU time in the 2\.50 s throughput window\s+3\.00 s/);
    expect(table).toMatch(/user \+ system\s+2\.00 s \+ 1\.00 s/);
    expect(table).toMatch(/main thread \+ other threads\s+1\.80 s \+ 1\.20 s/);
    expect(table).toMatch(/cores used \(CPU time \/ wall time\)\s+1\.20 of 2/);
    // The other threads by name, most first; under 0.1 s left out.
    expect(table).toMatch(/MergeMutate threads\s+0\.95 s\s+node threads\s+0\.20 s\s+cores used/);
    expect(table).not.toContain('ThreadPool');
    const offLinux = benchTable({
      ...figures,
      pipeline: {
        ...figures.pipeline,
        throughputWindow: {
          ...figures.pipeline.throughputWindow,
          mainThreadCpuMs: null,
          otherThreadsCpuMs: null,
        },
      },
    });
    expect(offLinux).toMatch(/main thread \+ other threads\s+n\/a/);
    expect(offLinux).not.toContain('MergeMutate');
  });

  it('shows the local stack’s CPU time over the same window by service, most first, and its cores', () => {
    const table = benchTable(figures);
    expect(table).toMatch(
      /local stack CPU time in the window\s+1\.50 s\s+kafka\s+1\.40 s\s+s3\s+0\.10 s\s+cores used by the stack\s+0\.60/,
    );
    const noStack = benchTable({
      ...figures,
      pipeline: {
        ...figures.pipeline,
        throughputWindow: { ...figures.pipeline.throughputWindow, stackCpuMs: {} },
      },
    });
    expect(noStack).not.toContain('local stack');
  });
});

describe('profileTable', () => {
  it('gives the main thread’s busy/idle split of the window, then the top functions', () => {
    const lines = profileTable({
      file: '/tmp/p/throughput-r.cpuprofile',
      busyMs: 3_000,
      idleMs: 1_000,
      top: [{ name: 'decode (processors/otlp/decode.js:10)', selfMs: 1_500, selfPercent: 50 }],
    }).split('\n');
    expect(lines[0]).toBe('pipeline CPU profile of the throughput window (/tmp/p/throughput-r.cpuprofile)');
    expect(lines[1]).toBe('main thread: 3.00 s busy, 1.00 s idle (75.0 % busy)');
    expect(lines.at(-1)).toMatch(/1,500 ms\s+50\.0 %\s+decode \(processors\/otlp\/decode\.js:10\)/);
  });
});

describe('minuteFolders', () => {
  it('gives the folder of every minute from the first time to the last, across an hour and a day', () => {
    const from = Date.parse('2026-12-31T23:58:30Z');
    expect(minuteFolders(from, Date.parse('2027-01-01T00:00:00Z'))).toEqual([
      'year=2026/month=12/day=31/hour=23/minute=58/',
      'year=2026/month=12/day=31/hour=23/minute=59/',
      'year=2027/month=01/day=01/hour=00/minute=00/',
    ]);
    expect(minuteFolders(from, from)).toEqual(['year=2026/month=12/day=31/hour=23/minute=58/']);
  });
});

describe('archivedMessages', () => {
  const offsets = [
    { partition: 0, low: 0, high: 10 },
    { partition: 1, low: 5, high: 8 },
  ];

  it('adds up the ranges of the topic’s objects within the offsets the topic holds', () => {
    const keys = [
      'year=2026/month=01/day=01/hour=00/minute=00/logs_t-0-0-3.json.gz',
      'year=2026/month=01/day=01/hour=00/minute=00/logs_t-0-4-9.binpb',
      'year=2026/month=01/day=01/hour=00/minute=01/logs_t-1-0-6.json',
    ];
    // partition 0: 4 + 6; partition 1: offsets 5 and 6 of 5..7.
    expect(archivedMessages(keys, 't', offsets)).toBe(12);
  });

  it('ignores other topics, including ones whose name extends this one', () => {
    const keys = ['x/logs_t-a-0-0-9.json.gz', 'x/logs_u-0-0-9.json.gz', 'x/logs_t-2-0-9.json.gz'];
    expect(archivedMessages(keys, 't', offsets)).toBe(0);
  });
});

describe('summarizeCpuProfile', () => {
  const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber });
  const nodes = [
    { id: 1, callFrame: frame('(root)') },
    { id: 2, callFrame: frame('(idle)') },
    { id: 3, callFrame: frame('decode', 'file:///app/processors/otlp/decode.js', 9) },
    { id: 4, callFrame: frame('decode', 'file:///app/processors/otlp/decode.js', 9) },
    { id: 5, callFrame: frame('encode', 'file:///app/node_modules/avsc/lib/types.js', 99) },
    { id: 6, callFrame: frame('(garbage collector)') },
  ];

  it('ranks functions by self time, adds up their frames and keeps idle apart', () => {
    const summary = summarizeCpuProfile(
      {
        // The profiler's own start-up: 5 ms before the first sample, then a sample every 1 ms.
        startTime: 0,
        endTime: 15_000,
        nodes,
        samples: [2, 3, 2, 3, 5, 2, 4, 5, 2, 6],
        timeDeltas: [5_000, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000],
      },
      { root: '/app' },
    );
    expect(summary.idleMs).toBeCloseTo(4);
    expect(summary.busyMs).toBeCloseTo(6); // not 9: the start-up gap is no sample's time
    expect(summary.top.map((t) => t.name)).toEqual([
      'decode (processors/otlp/decode.js:10)',
      'encode (pkg:avsc/lib/types.js:100)',
      '(garbage collector)',
    ]); // (root) had no samples of its own
    expect(summary.top[0]!.selfMs).toBeCloseTo(3);
    expect(summary.top[0]!.selfPercent).toBeCloseTo(50);
  });

  it('gives each sample the time until the next one, none when ticks come out of order', () => {
    const summary = summarizeCpuProfile(
      {
        startTime: 0,
        endTime: 10_000,
        nodes,
        samples: [5, 6, 3, 2],
        timeDeltas: [1_000, 4_000, -10, 2_010], // at 1, 5, 4.99 and 7 ms; the profile ends at 10 ms
      },
      { root: '/app' },
    );
    expect(summary.top.map((t) => [t.name, t.selfMs])).toEqual([
      ['encode (pkg:avsc/lib/types.js:100)', 4],
      ['decode (processors/otlp/decode.js:10)', 2.01],
    ]); // the collector's sample at 5 ms was followed by one at 4.99 ms
    expect(summary.idleMs).toBeCloseTo(3);
  });

  it('rejects a file that is not a profile, naming the problem', () => {
    expect(() => summarizeCpuProfile({ nodes: [] } as never)).toThrow(CpuProfileError);
    expect(() =>
      summarizeCpuProfile({ startTime: 0, endTime: 1, nodes, samples: [1], timeDeltas: [] }),
    ).toThrow(/1 samples but 0 time deltas/);
  });
});

describe('benchAlertRules', () => {
  it('keeps the default rules and adds a valid probe rule keyed by trace', () => {
    const defaults = readFileSync(join(__dirname, '../config/alert-rules.json'), 'utf8');
    const text = benchAlertRules(defaults);
    const rules = JSON.parse(text) as { rules: { id: string }[] };
    expect(rules.rules.map((r) => r.id)).toEqual([
      ...(JSON.parse(defaults) as { rules: { id: string }[] }).rules.map((r) => r.id),
      PROBE_RULE_ID,
    ]);
    expect(() => parseAlertRulesText(text)).not.toThrow();
  });
});

describe('sendGroups', () => {
  it('cuts messages into sends under the byte bound, keeping their order', () => {
    const values = [3, 3, 3, 7, 1].map((n) => Buffer.alloc(n));
    expect(sendGroups(values, 6).map((g) => g.map((b) => b.length))).toEqual([[3, 3], [3], [7], [1]]);
  });
});
