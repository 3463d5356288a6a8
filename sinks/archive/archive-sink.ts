import { StackLensError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import {
  BatchingSink,
  itemsBetween,
  type BufferedItem,
  type SinkBatches,
  type SourceRange,
  type StreamRecord,
} from '../../topology';
import type { OtlpJsonLogsRequest, OtlpJsonTracesRequest } from '../../processors/otlp/otlp-json-types';
import { planReplay, type LedgerEntry } from '../replay-plan';
import { ArchiveWriter, type EncodedBatch, type EncodedRequest } from './archive-writer';
import {
  archiveKeyPrefix,
  continuationKey,
  lastOffsetOf,
  type ArchiveFormat,
  type ArchiveSignal,
} from './layout';
import type { ArchiveStore } from './store';

/**
 * A record reached the archive sink from outside the ranges it is flushed with: the sink must be
 * wired to the source stream itself (each record its own input message), not after a punctuation.
 */
export class UnrangedArchiveRecordError extends StackLensError {}

/** The archive's continuation marker is not what this sink writes. */
export class InvalidContinuationError extends StackLensError {}

/** An OTLP/JSON export request of either signal (canonical JSON mapping, see processors/otlp/to-otlp-json.ts). */
export type OtlpJsonRequest = OtlpJsonLogsRequest & OtlpJsonTracesRequest;

/** A checkpoint of the runtime holds at most maxInFlightRecords (20 000) writes; this is a safety net. */
export const DEFAULT_MAX_BUFFERED_REQUESTS = 100_000;

export interface ArchiveSinkOptions {
  store: ArchiveStore;
  signal: ArchiveSignal;
  /** Prepended to every key, e.g. 'stacklens/'; '' for the bucket root. */
  prefix?: string;
  /** ARCHIVE_MARSHALER and ARCHIVE_COMPRESSION; default gzip OTLP/JSON. */
  format?: ArchiveFormat;
  /** Default `archive:<signal>`. */
  name?: string;
  /** `write` past it throws SinkBufferFullError (topology/errors.ts). */
  maxBufferedRequests?: number;
  log?: Logger;
}

/** A record as the sink holds it until its flush: its timestamp names the time folder of a range it starts. */
interface HeldRequest {
  readonly timestamp: number;
  /** Encoded at write: the request's object graph would hold several times the memory until the flush. */
  readonly request: EncodedRequest;
}

/** A held request and its record's offset. */
type Held = BufferedItem<HeldRequest>;

interface Continuation {
  topic: string;
  partition: number;
  offset: string;
  coveredTo: string;
}

/**
 * A topology sink archiving the input messages of one signal: each record is one Kafka message's
 * export request, decoded to OTLP/JSON; each flush writes one object per source range (see
 * ./archive-writer.ts), in the time folder of the range's first message — the record's timestamp,
 * which must be the Kafka timestamp (the default timestamp extractor), never the wall clock — so a
 * replay computes the same key.
 *
 * How often: the runtime flushes at every commit. Archive objects are wanted every
 * ARCHIVE_FLUSH_SECONDS, so the archive runs as its own consumer group (application id
 * `${APPLICATION_ID}-archive`) whose fetches wait ARCHIVE_FLUSH_SECONDS (fetchMaxWaitMs), and this sink
 * writes at each flush: an object per partition and commit interval.
 *
 * Replays write every message into exactly one object (see ../replay-plan.ts). The objects are
 * their own ledger: a PUT is atomic, so an object that exists is complete, and its key ends with the
 * range's offsets. Before writing a range starting at `a`, the sink lists the keys starting with
 * `<time folder of a's message>/<signal>_<topic>-<partition>-<a>-`: a listed object [a, b] means a
 * flush of [a, b] happened and was not committed. Its offsets are skipped and only (b, b'] is
 * written, as a new object. A replay shorter than the object (b' < b) writes nothing; as the runtime
 * then commits b' + 1, which no object starts at, the sink first leaves a continuation marker
 * (`_stacklens/continuations/<prefix><signal>/<topic>-<partition>-<b'+1>.json`, outside the archive)
 * saying that offsets up to b are archived, which the next flush starting there reads.
 *
 * Buffering, and keeping the buffer until a flush succeeds, is BatchingSink's (topology/batching-sink.ts).
 *
 * Limit: a replayed range in which no message reaches the sink (all of them dead-lettered before
 * it) has no time folder to look in; if it is shorter than the object it replays, the rest of that
 * object's messages are archived a second time by the next range.
 */
export class ArchiveSink<K> extends BatchingSink<K, OtlpJsonRequest, HeldRequest> {
  private readonly writer: ArchiveWriter;
  private readonly prefix: string;

  constructor(private readonly options: ArchiveSinkOptions) {
    super({
      name: options.name ?? `archive:${options.signal}`,
      maxBufferedItems: options.maxBufferedRequests ?? DEFAULT_MAX_BUFFERED_REQUESTS,
      itemsName: 'requests',
    });
    this.prefix = options.prefix ?? '';
    this.writer = new ArchiveWriter(options.store, this.prefix, options.format);
  }

  protected toItems(record: StreamRecord<K, OtlpJsonRequest>): readonly HeldRequest[] {
    return [{ timestamp: record.timestamp, request: this.writer.encode(this.options.signal, record.value) }];
  }

  protected async writeBatches({ ranged, unranged }: SinkBatches<HeldRequest>): Promise<void> {
    const stray = unranged[0];
    if (stray !== undefined) {
      throw new UnrangedArchiveRecordError(
        `${this.name}: a record of ${stray.topic}/${stray.partition} at offset ${(stray.items[0] as Held).offset} is outside the flushed ranges`,
      );
    }
    for (const { range, items } of ranged) await this.flushRange(range, items);
  }

  private async flushRange(range: SourceRange, buffered: readonly Held[]): Promise<void> {
    const first = BigInt(range.firstOffset);
    const last = BigInt(range.lastOffset);
    const known = await this.writtenFrom(range, buffered);
    for (const segment of planReplay({ first, last }, known)) {
      if (segment.kind === 'skip') {
        this.options.log?.info(
          { sink: this.name, range, skipped: [String(segment.first), String(segment.last)] },
          'replayed offsets are already archived',
        );
        if (segment.last === last && segment.coveredTo > last) {
          await this.writeContinuation({
            topic: range.topic,
            partition: range.partition,
            offset: String(last + 1n),
            coveredTo: String(segment.coveredTo),
          });
        }
        continue;
      }
      // Every known write is an existing object, i.e. complete: the plan has only 'skip' and 'new'.
      const records = itemsBetween(buffered, segment.first, segment.last);
      if (records.length === 0) continue;
      await this.writer.writeEncoded(
        this.batch(
          {
            topic: range.topic,
            partition: range.partition,
            firstOffset: String(segment.first),
            lastOffset: String(segment.last),
          },
          records,
        ),
      );
    }
  }

  private batch(source: SourceRange, records: readonly Held[]): EncodedBatch {
    return {
      signal: this.options.signal,
      source,
      timeMs: (records[0] as Held).item.timestamp,
      requests: records.map((r) => r.item.request),
    };
  }

  /**
   * The objects (and continuation markers) holding offsets from the range's start on, following
   * one to the next: what a crashed flush of this partition wrote without being committed.
   */
  private async writtenFrom(range: SourceRange, buffered: readonly Held[]): Promise<LedgerEntry[]> {
    const last = BigInt(range.lastOffset);
    const found: LedgerEntry[] = [];
    for (let at = BigInt(range.firstOffset); at <= last;) {
      let entry = await this.writtenAt(range, at, buffered);
      // Offsets before the range's first message reached no sink (dead-lettered, transaction
      // markers), so an earlier flush may have started its object at that message instead: where the
      // commits fell decides which, and a replay's commits fall elsewhere.
      const next = buffered.find((b) => b.offset >= at)?.offset;
      if (entry === undefined && next !== undefined && next > at)
        entry = await this.writtenAt(range, next, buffered);
      if (entry === undefined) break;
      found.push(entry);
      at = entry.last + 1n;
    }
    return found;
  }

  private async writtenAt(
    range: SourceRange,
    at: bigint,
    buffered: readonly Held[],
  ): Promise<LedgerEntry | undefined> {
    const firstMessage = buffered.find((b) => b.offset >= at);
    if (firstMessage !== undefined) {
      const keyPrefix = archiveKeyPrefix({
        prefix: this.prefix,
        signal: this.options.signal,
        topic: range.topic,
        partition: range.partition,
        firstOffset: String(at),
        timeMs: firstMessage.item.timestamp,
      });
      const ends = (await this.options.store.list(keyPrefix))
        .map((key) => lastOffsetOf(key, keyPrefix))
        .filter((end): end is string => end !== undefined)
        .map((end) => BigInt(end));
      if (ends.length > 0) {
        const end = ends.reduce((a, b) => (a > b ? a : b));
        return { first: at, last: end, tokenLast: end, complete: true };
      }
    }
    const marker = await this.options.store.get(
      continuationKey({
        prefix: this.prefix,
        signal: this.options.signal,
        topic: range.topic,
        partition: range.partition,
        offset: String(at),
      }),
    );
    if (marker === undefined) return undefined;
    const coveredTo = parseContinuation(marker);
    return { first: at, last: coveredTo, tokenLast: coveredTo, complete: true };
  }

  private async writeContinuation(continuation: Continuation): Promise<void> {
    const key = continuationKey({ prefix: this.prefix, signal: this.options.signal, ...continuation });
    await this.options.store.put(key, Buffer.from(JSON.stringify(continuation), 'utf8'), {
      contentType: 'application/json',
      contentEncoding: 'identity',
    });
  }
}

function parseContinuation(body: Buffer): bigint {
  let coveredTo: unknown;
  try {
    coveredTo = (JSON.parse(body.toString('utf8')) as Partial<Continuation>).coveredTo;
  } catch (err) {
    throw new InvalidContinuationError('archive continuation marker is not JSON', { cause: err });
  }
  if (typeof coveredTo !== 'string' || !/^(0|[1-9][0-9]{0,18})$/.test(coveredTo)) {
    throw new InvalidContinuationError(`archive continuation marker has no valid coveredTo offset`);
  }
  return BigInt(coveredTo);
}
