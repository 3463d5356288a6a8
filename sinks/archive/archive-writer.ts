import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { OtlpJsonLogsRequest, OtlpJsonTracesRequest } from '../../processors/otlp/otlp-json-types';
import type { SourceRange } from '../source-range';
import { archiveKey } from './layout';
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
 * Writes each source range as ONE gzip-compressed OTLP/JSON object: the range's requests merged into
 * a single export request (resource entries concatenated in offset order), which is the file format
 * of the Collector's awss3 exporter with `marshaler: otlp_json` and `compression: gzip`.
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
  ) {}

  /** Returns the key written. */
  async write(batch: ArchiveBatch): Promise<string> {
    const key = archiveKey({
      prefix: this.prefix,
      signal: batch.signal,
      source: batch.source,
      timeMs: batch.timeMs,
    });
    const body = await gzipAsync(Buffer.from(JSON.stringify(mergeRequests(batch)), 'utf8'));
    await this.store.put(key, body, { contentType: 'application/json', contentEncoding: 'gzip' });
    return key;
  }
}

export function mergeRequests(batch: ArchiveBatch): OtlpJsonLogsRequest | OtlpJsonTracesRequest {
  return batch.signal === 'logs'
    ? { resourceLogs: batch.requests.flatMap((r) => r.resourceLogs ?? []) }
    : { resourceSpans: batch.requests.flatMap((r) => r.resourceSpans ?? []) };
}
