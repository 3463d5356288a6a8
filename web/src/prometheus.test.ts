import { sumMetrics } from './prometheus';

describe('sumMetrics', () => {
  it('sums every label set of the named metrics and ignores the rest', () => {
    const text = [
      '# HELP stacklens_topology_consumer_lag lag',
      '# TYPE stacklens_topology_consumer_lag gauge',
      'stacklens_topology_consumer_lag{application="a",topic="t",partition="0"} 3',
      'stacklens_topology_consumer_lag{application="a",topic="t",partition="1"} 4',
      'stacklens_topology_consumer_lag_other 100',
      'stacklens_topology_dlq_records_total 2',
      'bad line',
      'stacklens_topology_dlq_records_total{error="x y"} NaN',
    ].join('\n');
    expect(
      sumMetrics(text, [
        'stacklens_topology_consumer_lag',
        'stacklens_topology_dlq_records_total',
        'missing',
      ]),
    ).toEqual({ stacklens_topology_consumer_lag: 7, stacklens_topology_dlq_records_total: 2, missing: 0 });
  });
});
