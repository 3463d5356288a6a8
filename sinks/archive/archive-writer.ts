import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { OtlpJsonLogsRequest, OtlpJsonTracesRequest } from '../../processors/otlp/otlp-json-types';
import { otlpJsonLogsToProto, otlpJsonTracesToProto } from '../../processors/otlp/to-otlp-proto';
import type { SourceRange } from '../source-range';
import { archiveKey, DEFAULT_ARCHIVE_FORMAT, type ArchiveFormat } from './layout';
import type { ArchiveStore } from './store';

const gzipAsync = promisify(gzip);

/**
 * The messages of one Kafka source range, as OTLP/JSON export requests in the canonical JSON mapping
 * (processors/otlp/to-otlp-json.ts makes them): the archive serializes them as they are.
 */
export type ArchiveBatch =
  | { signal: 'logs'; source: SourceRange; timeMs: number; requests: readonly OtlpJsonLogsRequest[] }
  | { signal: 'traces'; source: SourceRange; timeMs: number; requests: readonly OtlpJsonTracesRequest[] };

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

  /** Returns the key written. */
  async write(batch: ArchiveBatch): Promise<string> {
    const key = archiveKey({
      prefix: this.prefix,
      signal: batch.signal,
      source: batch.source,
      timeMs: batch.timeMs,
      format: this.format,
    });
    const json = this.format.marshaler === 'otlp_json';
    const encoded = json
      ? Buffer.from(JSON.stringify(mergeRequests(batch)), 'utf8')
      : Buffer.from(toProto(batch));
    const gzipped = this.format.compression === 'gzip';
    await this.store.put(key, gzipped ? await gzipAsync(encoded) : encoded, {
      contentType: json ? 'application/json' : 'application/x-protobuf',
      contentEncoding: gzipped ? 'gzip' : 'identity',
    });
    return key;
  }
}

function toProto(batch: ArchiveBatch): Uint8Array {
  return batch.signal === 'logs'
    ? otlpJsonLogsToProto({ resourceLogs: batch.requests.flatMap((r) => r.resourceLogs ?? []) })
    : otlpJsonTracesToProto({ resourceSpans: batch.requests.flatMap((r) => r.resourceSpans ?? []) });
}

export function mergeRequests(batch: ArchiveBatch): OtlpJsonLogsRequest | OtlpJsonTracesRequest {
  return batch.signal === 'logs'
    ? { resourceLogs: batch.requests.flatMap((r) => r.resourceLogs ?? []) }
    : { resourceSpans: batch.requests.flatMap((r) => r.resourceSpans ?? []) };
}
