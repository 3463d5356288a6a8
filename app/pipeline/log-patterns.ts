import { Drain, type DrainSettings, type DrainSnapshot } from '../../processors/patterns/drain';
import {
  closeBuckets,
  countLine,
  ERROR_SEVERITY,
  newPatternAlert,
  newPatternStats,
  type PatternAnomalySettings,
  type PatternBucket,
  type PatternLog,
  type PatternRef,
  type PatternStats,
} from '../../processors/patterns/pattern-anomalies';
import type { Alert } from '../../processors/records';
import { DeserializationError, jsonSerde, keyValueStoreSpec, stringSerde } from '../../topology';
import type {
  KeyValueStore,
  Processor,
  ProcessorContext,
  Serde,
  StoreSpec,
  StreamRecord,
} from '../../topology';

export const LOG_PATTERN_MINERS_STORE = 'log-pattern-miners';
export const LOG_PATTERN_STATS_STORE = 'log-pattern-stats';

export interface LogPatternSettings {
  drain: DrainSettings;
  anomalies: PatternAnomalySettings;
  /** Longest part of a body that is mined (a template of a 200 KiB body is neither useful nor cheap). */
  maxBodyChars: number;
}

/** A row of the pattern tables, as the miner emits it and `stacklens-log-patterns` carries it (JSON). */
export type PatternRow = { kind: 'ref'; ref: PatternRef } | { kind: 'bucket'; bucket: PatternBucket };

export type PatternOutput = PatternRow | { kind: 'alert'; alert: Alert };

/** A service's miner and when the service was first seen (for the new-pattern warm-up). */
export interface ServiceMiner {
  drain: Drain;
  firstSeenMs: number;
}

/**
 * The changelog form of a service's miner: the Drain tree and clusters as JSON. It is written only when
 * the tree or a template changed (a line that matched a known template changes neither), so a busy
 * service costs a serialization per new template, not per line. Cluster sizes and recency order are
 * therefore as of the last such change after a restore; counts live in the pattern stats.
 */
export function serviceMinerSerde(settings: DrainSettings): Serde<ServiceMiner> {
  const json = jsonSerde<{ firstSeenMs: number; drain: DrainSnapshot }>();
  return {
    serialize: (miner) => json.serialize({ firstSeenMs: miner.firstSeenMs, drain: miner.drain.snapshot() }),
    deserialize: (data) => {
      const stored = json.deserialize(data);
      if (stored === null || typeof stored !== 'object' || typeof stored.drain !== 'object') {
        throw new DeserializationError(
          'a log pattern miner state must be a JSON object with a drain snapshot',
        );
      }
      return { firstSeenMs: stored.firstSeenMs, drain: Drain.restore(settings, stored.drain) };
    },
  };
}

export function logPatternStoreSpecs(settings: LogPatternSettings): StoreSpec[] {
  return [
    keyValueStoreSpec(LOG_PATTERN_MINERS_STORE, {
      keySerde: stringSerde(),
      valueSerde: serviceMinerSerde(settings.drain),
      maxEntries: 10_000,
    }),
    keyValueStoreSpec<string, PatternStats>(LOG_PATTERN_STATS_STORE, {
      keySerde: stringSerde(),
      maxEntries: 10_000 * (settings.drain.maxClusters ?? 1_000),
    }),
  ];
}

/**
 * Mines log templates per service (Drain) over logs keyed by service, so each service's miner lives
 * in exactly one task, and watches each pattern's rate (pattern-anomalies.ts). For every line it
 * forwards the pattern it belongs to; as buckets close, the buckets' counts; and the anomalies as
 * alerts. Both stores are changelogged: the miners (written when a template changes) and the per-pattern
 * stats (changed in place per line, serialized once per commit).
 */
export class LogPatternMiner implements Processor<string, PatternLog, string, PatternOutput> {
  private context!: ProcessorContext<string, PatternOutput>;
  private miners!: KeyValueStore<string, ServiceMiner>;
  private stats!: KeyValueStore<string, PatternStats>;
  private readonly out: { buckets: PatternBucket[]; alerts: Alert[] } = { buckets: [], alerts: [] };

  constructor(private readonly settings: LogPatternSettings) {}

  init(context: ProcessorContext<string, PatternOutput>): void {
    this.context = context;
    this.miners = context.keyValueStore(LOG_PATTERN_MINERS_STORE);
    this.stats = context.keyValueStore(LOG_PATTERN_STATS_STORE);
    const interval = Math.max(1_000, Math.floor(this.settings.anomalies.bucketMs / 4));
    context.schedule(interval, 'stream-time', (now) => this.closeBuckets(now));
  }

  process(record: StreamRecord<string, PatternLog>): void {
    const log = record.value;
    const service = log.service;
    let miner = this.miners.get(service);
    if (miner === undefined) {
      miner = { drain: new Drain(this.settings.drain), firstSeenMs: log.time_ms };
    }
    const match = miner.drain.add(log.body);
    if (match.change !== 'none') this.miners.put(service, miner);
    if (match.evictedClusterId !== undefined) this.stats.delete(statsKey(service, match.evictedClusterId));

    const key = statsKey(service, match.clusterId);
    let stats = this.stats.get(key);
    const { anomalies } = this.settings;
    if (stats === undefined) {
      stats = newPatternStats(service, match.clusterId, match.template, log, anomalies.bucketMs);
      const warmedUp = log.time_ms - miner.firstSeenMs >= anomalies.warmupBuckets * anomalies.bucketMs;
      if (warmedUp && log.severity_number >= ERROR_SEVERITY) {
        this.out.alerts.push(newPatternAlert(stats, log, match.similarity));
      }
    } else if (match.change === 'template_changed') {
      stats.template = match.template;
    }
    countLine(anomalies, stats, log, this.out);
    this.stats.put(key, stats);

    this.emit(
      { kind: 'ref', ref: { record_id: log.id, service, pattern_id: match.clusterId, time_ms: log.time_ms } },
      record.timestamp,
    );
    this.drainOut(record.timestamp);
  }

  private closeBuckets(streamTime: number): void {
    for (const [key, stats] of this.stats.entries()) {
      if (closeBuckets(this.settings.anomalies, stats, streamTime, this.out)) this.stats.put(key, stats);
    }
    this.drainOut(streamTime);
  }

  private drainOut(timestamp: number): void {
    for (const bucket of this.out.buckets) this.emit({ kind: 'bucket', bucket }, timestamp);
    for (const alert of this.out.alerts) this.emit({ kind: 'alert', alert }, timestamp);
    this.out.buckets.length = 0;
    this.out.alerts.length = 0;
  }

  private emit(value: PatternOutput, timestamp: number): void {
    this.context.forward({
      key: value.kind === 'alert' ? value.alert.id : '',
      value,
      timestamp,
      headers: {},
      ...this.context.position(),
    });
  }
}

function statsKey(service: string, patternId: number): string {
  return `${service}\u0000${patternId}`;
}
