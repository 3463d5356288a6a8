import { Registry } from 'prom-client';
import { TopologyMetrics } from './metrics';

describe('TopologyMetrics', () => {
  it('registers on the registry given, so two applications do not clash', async () => {
    const a = new Registry();
    const b = new Registry();
    const ma = new TopologyMetrics(a, 'app-a');
    new TopologyMetrics(b, 'app-b');
    ma.lateRecords.inc({ application: 'app-a', processor: 'w' });
    const text = await a.metrics();
    expect(text).toContain('stacklens_topology_late_records_total{application="app-a",processor="w"} 1');
    expect(await b.metrics()).not.toContain('app-a');
    for (const name of [
      'records_consumed_total',
      'records_processed_total',
      'records_produced_total',
      'processing_latency_seconds',
      'consumer_lag',
      'commit_latency_seconds',
      'state_store_entries',
      'dlq_records_total',
      'restorations_total',
      'stalled_seconds',
      'enforced_processing_total',
    ]) {
      expect(text).toContain(`stacklens_topology_${name}`);
    }
  });

  it('lets two applications share one registry, told apart by their label', async () => {
    const registry = new Registry();
    const pipeline = new TopologyMetrics(registry, 'pipeline');
    const archive = new TopologyMetrics(registry, 'archive');
    pipeline.dlqRecords.inc({ application: 'pipeline', error: 'DecodeError' });
    archive.dlqRecords.inc({ application: 'archive', error: 'DecodeError' }, 2);
    const text = await registry.metrics();
    expect(text).toContain(
      'stacklens_topology_dlq_records_total{application="pipeline",error="DecodeError"} 1',
    );
    expect(text).toContain(
      'stacklens_topology_dlq_records_total{application="archive",error="DecodeError"} 2',
    );
  });
});
