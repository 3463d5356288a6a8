import { copyCorrelation, emptyCorrelation, foldLog, foldSpan } from '../../processors/correlate';
import type { Correlation } from '../../processors/records';
import { DeserializationError, jsonSerde, keyValueStoreSpec, stringSerde } from '../../topology';
import type {
  KeyValueStore,
  Processor,
  ProcessorContext,
  Serde,
  StoreSpec,
  StreamRecord,
} from '../../topology';
import type { CorrelationInput } from './correlation-input';
import { DueIndex } from './due-index';

export const TRACE_CORRELATIONS_STORE = 'trace-correlations';

/** How often the correlator looks for closed traces: the window, within 1 to 10 seconds. */
export function correlationCheckIntervalMs(windowMs: number): number {
  return Math.max(1_000, Math.min(windowMs, 10_000));
}

export interface TraceCorrelatorOptions {
  /** A trace's correlation closes when no log or span of it has arrived for this long (event time). */
  windowMs: number;
  /** Extra event time a closed correlation waits for stragglers before it is emitted. */
  graceMs: number;
  /**
   * How long an emitted correlation is kept so that late arrivals update it (re-emitted with a higher
   * version) instead of starting a new, partial one. Records older than this are reported late.
   */
  retentionMs: number;
  /** How often (in stream time) closed correlations are looked for. */
  checkIntervalMs: number;
}

/**
 * Span ids remembered per trace so that a replayed span is not counted twice. Logs need no such list
 * (addLog ignores a log id it holds); spans carry none in the correlation. Beyond this many spans a
 * trace's further spans are counted without the check, which keeps the state's size bounded.
 */
export const MAX_TRACKED_SPAN_IDS = 1_000;

/**
 * Per trace: the correlation so far, the latest event time seen, and the version last emitted. The
 * correlator changes it in place for every record of the trace (the store serializes it once per
 * commit), so a record costs the same whether the trace holds ten records or a thousand.
 */
export interface TraceState {
  correlation: Correlation;
  lastEventMs: number;
  emittedVersion: number;
  /** Ids of the spans counted so far (at most MAX_TRACKED_SPAN_IDS), in the order they came. */
  spanIds: Set<string>;
}

/** The JSON form of a TraceState in the store's changelog (spanIds absent in states written before it). */
interface StoredTraceState {
  correlation: Correlation;
  lastEventMs: number;
  emittedVersion: number;
  spanIds?: string[];
}

/** JSON, with the span id set as an array in arrival order (deterministic for a given input order). */
export function traceStateSerde(): Serde<TraceState> {
  const json = jsonSerde<StoredTraceState>();
  return {
    serialize: (state) =>
      json.serialize({
        correlation: state.correlation,
        lastEventMs: state.lastEventMs,
        emittedVersion: state.emittedVersion,
        spanIds: [...state.spanIds],
      }),
    deserialize: (data) => {
      const stored = json.deserialize(data);
      if (stored === null || typeof stored !== 'object' || typeof stored.correlation !== 'object') {
        throw new DeserializationError('a trace correlation state must be a JSON object with a correlation');
      }
      return { ...stored, spanIds: new Set(stored.spanIds ?? []) };
    },
  };
}

/** The correlator's store: one TraceState per open trace, keyed by trace id. */
export function traceCorrelationsStoreSpec(maxEntries: number): StoreSpec {
  return keyValueStoreSpec<string, TraceState>(TRACE_CORRELATIONS_STORE, {
    keySerde: stringSerde(),
    valueSerde: traceStateSerde(),
    maxEntries,
  });
}

/**
 * The windowed join of logs and spans by trace_id, for the trace alert rules. One entry per open
 * trace in a key-value store (changelogged, so a restarted task resumes its open traces). A trace's
 * correlation is emitted once stream time passes its last event + window + grace; after that, a late
 * log or span re-emits it at once (its alerts are updated, same ids), until the retention has passed
 * too; a record later still starts a new entry, emitted when it closes in turn. What ClickHouse shows
 * of a trace does not depend on this: every record adds its own part there (see
 * processors/correlate/part.ts), so nothing the store has forgotten is lost.
 *
 * This is the session-window pattern with an update path for late data, written on the processor
 * API because the DSL's session aggregation drops records once their session is closed.
 */
export class TraceCorrelator implements Processor<string, CorrelationInput, string, Correlation> {
  private context!: ProcessorContext<string, Correlation>;
  private store!: KeyValueStore<string, TraceState>;
  /** The stream time last seen by the wall-clock punctuation, and since when (wall clock) it stood. */
  private stalled: { streamTime: number; sinceWallMs: number } | undefined;
  /**
   * When each stored trace next needs a check: its emission, then its eviction. A check visits only
   * the traces due instead of every trace of the store (hundreds of thousands at high rates, on disk
   * with STATE_STORE=lmdb). Built from the store at first use, after the task's restoration.
   */
  private due: DueIndex | undefined;

  constructor(private readonly options: TraceCorrelatorOptions) {}

  init(context: ProcessorContext<string, Correlation>): void {
    this.context = context;
    this.store = context.keyValueStore<string, TraceState>(TRACE_CORRELATIONS_STORE);
    context.schedule(this.options.checkIntervalMs, 'stream-time', (now) => this.emitClosed(now));
    // Stream time only moves with records, so on a partition that went quiet the last traces would
    // never close. Once stream time has stood still for a whole window + grace of wall-clock time,
    // it is taken to have advanced by that idle time, counted from the first tick after a (re)start.
    // A task whose stream time was not committed with its offsets has none until a record comes: its
    // stored traces' latest event stands for it (never ahead of the stream time they were stored at).
    // This is the one output that depends on the wall clock: see topology/README.md.
    context.schedule(this.options.checkIntervalMs, 'wall-clock', (wallNow) => {
      const streamTime = this.context.streamTime();
      if (this.stalled === undefined || streamTime !== this.stalled.streamTime) {
        this.stalled = { streamTime, sinceWallMs: wallNow };
        return;
      }
      const idleMs = wallNow - this.stalled.sinceWallMs;
      if (idleMs < this.options.windowMs + this.options.graceMs) return;
      const base = Number.isFinite(streamTime) ? streamTime : this.latestStoredEventMs();
      if (Number.isFinite(base)) this.emitClosed(base + idleMs);
    });
  }

  process(record: StreamRecord<string, CorrelationInput>): void {
    const { retentionMs } = this.options;
    const existing = this.store.get(record.key);
    if (existing === undefined && record.timestamp < this.context.streamTime() - retentionMs) {
      this.context.reportLate({
        record,
        key: Buffer.from(record.key),
        value: jsonSerde<CorrelationInput>().serialize(record.value),
        windowEnd: record.timestamp + this.options.windowMs,
      });
      return;
    }
    const state: TraceState = existing ?? {
      correlation: emptyCorrelation(record.key),
      lastEventMs: record.timestamp,
      emittedVersion: 0,
      spanIds: new Set(),
    };
    const input = record.value;
    // Input replayed after its correlation was stored (offsets reset, an at-least-once retry) brings
    // the same records again: counted once, a replay changes nothing (foldLog skips a log id it holds).
    if (input.kind === 'span') {
      if (state.spanIds.has(input.span.span_id)) return;
      foldSpan(state.correlation, input.span);
      if (state.spanIds.size < MAX_TRACKED_SPAN_IDS) state.spanIds.add(input.span.span_id);
    } else if (!foldLog(state.correlation, input.log)) {
      return;
    }
    state.lastEventMs = Math.max(state.lastEventMs, record.timestamp);
    const { correlation } = state;
    if (state.emittedVersion > 0 && correlation.version > state.emittedVersion) {
      // Already emitted once: a late arrival updates the materialized correlation right away.
      this.emit(record.key, correlation, record.timestamp);
      state.emittedVersion = correlation.version;
    }
    // The same object again: this marks the trace changed, to be serialized once at the next commit.
    this.store.put(record.key, state);
    this.dueIndex().set(record.key, this.dueAt(state));
  }

  private dueIndex(): DueIndex {
    if (this.due === undefined) {
      this.due = new DueIndex(this.options.checkIntervalMs);
      for (const [traceId, state] of this.store.entries()) this.due.set(traceId, this.dueAt(state));
    }
    return this.due;
  }

  /** A trace is emitted once closed (last event + window + grace), then evicted after the retention. */
  private dueAt(state: TraceState): number {
    const { windowMs, graceMs, retentionMs } = this.options;
    const closesAt = state.lastEventMs + windowMs + graceMs;
    return state.emittedVersion < state.correlation.version ? closesAt : closesAt + retentionMs;
  }

  private latestStoredEventMs(): number {
    let latest = Number.NEGATIVE_INFINITY;
    for (const [, state] of this.store.entries()) latest = Math.max(latest, state.lastEventMs);
    return latest;
  }

  private emitClosed(streamTime: number): void {
    const { windowMs, graceMs, retentionMs } = this.options;
    const due = this.dueIndex();
    for (const traceId of due.dueBy(streamTime)) {
      const state = this.store.get(traceId);
      if (state === undefined) {
        due.delete(traceId);
        continue;
      }
      const closesAt = state.lastEventMs + windowMs + graceMs;
      if (state.emittedVersion < state.correlation.version && streamTime >= closesAt) {
        this.emit(traceId, state.correlation, closesAt);
        state.emittedVersion = state.correlation.version;
        this.store.put(traceId, state);
        due.set(traceId, this.dueAt(state));
      } else if (state.emittedVersion === state.correlation.version && streamTime >= closesAt + retentionMs) {
        this.store.delete(traceId);
        due.delete(traceId);
      }
    }
  }

  /**
   * Forwards a copy: the stored correlation goes on changing in place, and what was emitted (held by a
   * sink until its flush, for instance) must stay the version it was.
   */
  private emit(traceId: string, correlation: Correlation, timestamp: number): void {
    const position = this.context.position();
    const value = copyCorrelation(correlation);
    this.context.forward({ key: traceId, value, timestamp, headers: {}, ...position });
  }
}
