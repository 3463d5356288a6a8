import type { OtlpJsonLogsRequest, OtlpJsonTracesRequest } from '../../processors/otlp/otlp-json-types';
import { otlpJsonLogsToProto, otlpJsonTracesToProto } from '../../processors/otlp/to-otlp-proto';
import type { SourceRange } from '../source-range';
import { gzipPiece, joinGzipPieces, type GzipPiece } from './gzip-pieces';
import { archiveKey, DEFAULT_ARCHIVE_FORMAT, type ArchiveFormat } from './layout';
import type { ArchiveStore } from './store';

/**
 * The messages of one Kafka source range, as OTLP/JSON export requests in the canonical JSON mapping
 * (processors/otlp/to-otlp-json.ts makes them): the archive serializes them as they are.
 */
export type ArchiveBatch =
  | { signal: 'logs'; source: SourceRange; timeMs: number; requests: readonly OtlpJsonLogsRequest[] }
  | { signal: 'traces'; source: SourceRange; timeMs: number; requests: readonly OtlpJsonTracesRequest[] };

/**
 * One export request in the archive's marshaling, without its envelope: for OTLP/JSON its resource
 * entries as JSON text (the array's items, joined by commas); for OTLP/proto the request's bytes,
 * whose concatenation with the others' IS the merged request (a repeated field's elements encode one
 * after another). Under gzip compression, that text compressed as a piece of the object's gzip file
 * (./gzip-pieces.ts), or nothing for a request without entries. An archive sink holds this between
 * flushes rather than the request's object graph, which takes several times the memory; compressed,
 * about a tenth of the text (the archive thread held 150–220 MiB of text in the benchmark before).
 */
export type EncodedRequest = string | Uint8Array | GzipPiece | undefined;

/** A range's requests, each already encoded (see EncodedRequest). */
export interface EncodedBatch {
  readonly signal: ArchiveBatch['signal'];
  readonly source: SourceRange;
  readonly timeMs: number;
  readonly requests: readonly EncodedRequest[];
}

/**
 * Writes each source range as ONE object: the range's requests merged into a single export request
 * (resource entries concatenated in offset order), in the file format of the Collector's awss3 exporter
 * with the same `marshaler` (otlp_json or otlp_proto) and `compression` (gzip or none).
 *
 * The key is derived from the batch alone (see ./layout.ts), so writing a range twice — a retry, a
 * replay after a crash — replaces the object. When to write (after N messages or T seconds) is the
 * caller's choice; it must cut ranges at reproducible offsets for replays to line up.
 */
export class ArchiveWriter {
  constructor(
    private readonly store: ArchiveStore,
    /** Prepended to every key, e.g. 'stacklens/'; '' for the bucket root. */
    private readonly prefix = '',
    private readonly format: ArchiveFormat = DEFAULT_ARCHIVE_FORMAT,
  ) {}

  /** One request as this writer's format holds it until its range is written. */
  encode(
    signal: ArchiveBatch['signal'],
    request: OtlpJsonLogsRequest | OtlpJsonTracesRequest,
  ): EncodedRequest {
    const entries =
      signal === 'logs'
        ? (request as OtlpJsonLogsRequest).resourceLogs
        : (request as OtlpJsonTracesRequest).resourceSpans;
    let encoded: string | Uint8Array;
    if (this.format.marshaler === 'otlp_json') {
      encoded = entries === undefined || entries.length === 0 ? '' : JSON.stringify(entries).slice(1, -1);
    } else {
      encoded =
        signal === 'logs'
          ? otlpJsonLogsToProto({ resourceLogs: (entries ?? []) as OtlpJsonLogsRequest['resourceLogs'] })
          : otlpJsonTracesToProto({
              resourceSpans: (entries ?? []) as OtlpJsonTracesRequest['resourceSpans'],
            });
    }
    if (this.format.compression === 'none') return encoded;
    // A request without entries adds no entry (nor separator) to the merged request.
    return encoded.length === 0 ? undefined : gzipPiece(encoded);
  }

  /** Returns the key written. */
  async write(batch: ArchiveBatch): Promise<string> {
    const requests: readonly (OtlpJsonLogsRequest | OtlpJsonTracesRequest)[] = batch.requests;
    return this.writeEncoded({ ...batch, requests: requests.map((r) => this.encode(batch.signal, r)) });
  }

  /** Returns the key written. */
  async writeEncoded(batch: EncodedBatch): Promise<string> {
    const key = archiveKey({
      prefix: this.prefix,
      signal: batch.signal,
      source: batch.source,
      timeMs: batch.timeMs,
      format: this.format,
    });
    const json = this.format.marshaler === 'otlp_json';
    const gzipped = this.format.compression === 'gzip';
    let body: Buffer;
    if (gzipped) body = joinGzipPieces(json ? withJsonEnvelope(batch) : pieces(batch.requests));
    else body = json ? mergeJson(batch) : Buffer.concat(batch.requests as readonly Uint8Array[]);
    await this.store.put(key, body, {
      contentType: json ? 'application/json' : 'application/x-protobuf',
      contentEncoding: gzipped ? 'gzip' : 'identity',
    });
    return key;
  }
}

/** The same text as JSON.stringify of the merged request, from the requests' encoded entries. */
function mergeJson(batch: EncodedBatch): Buffer {
  const { open, close } = envelope(batch);
  const entries = (batch.requests as readonly string[]).filter((text) => text !== '').join(',');
  return Buffer.from(`${open}${entries}${close}`, 'utf8');
}

/** mergeJson's text as gzip pieces: the requests' pieces between pieces of the envelope and commas. */
function withJsonEnvelope(batch: EncodedBatch): GzipPiece[] {
  const { open, close } = envelope(batch);
  const comma = gzipPiece(',');
  const out = [gzipPiece(open)];
  for (const [i, piece] of pieces(batch.requests).entries()) {
    if (i > 0) out.push(comma);
    out.push(piece);
  }
  out.push(gzipPiece(close));
  return out;
}

function envelope(batch: EncodedBatch): { open: string; close: string } {
  return { open: `{"${batch.signal === 'logs' ? 'resourceLogs' : 'resourceSpans'}":[`, close: ']}' };
}

/** The pieces of gzipped requests (those without entries have none). */
function pieces(requests: readonly EncodedRequest[]): GzipPiece[] {
  return requests.filter((r): r is GzipPiece => typeof r === 'object' && 'deflated' in r);
}
