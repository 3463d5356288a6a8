/**
 * A small streams application run as a child process by the topology integration tests (so it can
 * be killed with SIGKILL). It re-keys numbered records by group through a repartition topic and
 * counts them per group in a key-value store: every output names the input id and the running count,
 * which lets a test check exactly-once (each id once, counts 1..n per group) after crashes. With
 * FIXTURE_WINDOW_OUTPUT set it also counts them per group in one-second tumbling windows (a window
 * store; grace one minute, final results) written to that topic.
 */
import { Registry } from 'prom-client';
import { createLogger } from '../../common/logger';
import {
  keyValueStoreSpec,
  TopologyBuilder,
  tumblingWindows,
  type Processor,
  type ProcessorContext,
  type StreamRecord,
} from '../../topology';
import type { ProcessingGuarantee } from '../../topology/runtime/options';
import { stopOnSignals } from '../../topology/runtime/shutdown';
import { StreamsApp } from '../../topology/runtime/streams-app';

export interface FixtureInput {
  readonly id: number;
  readonly group: string;
}

export interface FixtureOutput {
  readonly id: number;
  readonly count: number;
}

class CountPerGroup implements Processor<string, FixtureInput, string, FixtureOutput> {
  private context!: ProcessorContext<string, FixtureOutput>;

  init(context: ProcessorContext<string, FixtureOutput>): void {
    this.context = context;
  }

  process(record: StreamRecord<string, FixtureInput>): void {
    const store = this.context.keyValueStore<string, number>('group-counts');
    const count = (store.get(record.key) ?? 0) + 1;
    store.put(record.key, count);
    this.context.forward({ ...record, value: { id: record.value.id, count } });
  }
}

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

async function main(): Promise<void> {
  const logger = createLogger({ level: 'info', format: 'json', name: 'fixture' });
  const builder = new TopologyBuilder();
  builder.addStateStore(keyValueStoreSpec<string, number>('group-counts'));
  const byGroup = builder
    .stream<string, FixtureInput>('in', env('FIXTURE_INPUT'))
    .selectKey('by-group', (r) => r.value.group)
    .repartition('by-group');
  byGroup
    .process('count', () => new CountPerGroup(), { stores: ['group-counts'] })
    .to('out', env('FIXTURE_OUTPUT'));
  const windowOutput = process.env.FIXTURE_WINDOW_OUTPUT;
  if (windowOutput !== undefined) {
    byGroup
      .windowedBy(tumblingWindows({ sizeMs: 1_000, graceMs: 60_000 }))
      .count('window-counts')
      .to('window-out', windowOutput);
  }
  const app = new StreamsApp(builder.build(), {
    applicationId: env('FIXTURE_APP_ID'),
    instanceId: env('FIXTURE_INSTANCE'),
    brokers: env('FIXTURE_BROKERS').split(','),
    processingGuarantee: env('FIXTURE_GUARANTEE') as ProcessingGuarantee,
    maxInFlightRecords: Number(process.env.FIXTURE_MAX_IN_FLIGHT_RECORDS ?? 200),
    // Set: the counts live in a persistent (LMDB) store there, checkpointed with its changelog offset.
    stateDir: process.env.FIXTURE_STATE_DIR,
    sessionTimeoutMs: 6_000,
    heartbeatIntervalMs: 1_000,
    // Under the session timeout minus the broker's cleanup interval when a test stalls an instance.
    transactionTimeoutMs: Number(process.env.FIXTURE_TRANSACTION_TIMEOUT_MS ?? 10_000),
    // Unset: the default interval (30 s).
    repartitionPurgeIntervalMs:
      process.env.FIXTURE_PURGE_INTERVAL_MS === undefined
        ? undefined
        : Number(process.env.FIXTURE_PURGE_INTERVAL_MS),
    logger,
    registry: new Registry(),
  });
  stopOnSignals(app, logger);
  await app.start();
  logger.info('fixture started');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(2);
});
