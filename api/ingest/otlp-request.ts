/**
 * The shape both OTLP encodings are scanned into: resources, scopes and the records the API accepted,
 * each with its encoded size, so a request can be re-emitted as Kafka messages under the broker's limit.
 * Headers are a resource's or scope's fields other than its scopes or records, kept as encoded.
 */
export interface ScannedRecord<R> {
  ref: R;
  /** Encoded size of the record itself (without the framing its parent adds). */
  bytes: number;
}

export interface ScannedScope<H, R> {
  header: H;
  headerBytes: number;
  records: ScannedRecord<R>[];
}

export interface ScannedResource<H, R> {
  header: H;
  headerBytes: number;
  scopes: ScannedScope<H, R>[];
}

const OVERSIZE_PREFIX = 'record too large';
const MAX_REASONS = 5;
const OTHER_REASONS = 'other reasons';

/** Records the API refused while accepting the rest (OTLP partial_success), with why. */
export class Rejections {
  count = 0;
  private readonly reasons = new Map<string, number>();

  add(reason: string, count = 1): void {
    if (count <= 0) return;
    this.count += count;
    // Reasons may quote a record's value: past a few distinct ones, the rest are only counted.
    const key = this.reasons.has(reason) || this.reasons.size < MAX_REASONS ? reason : OTHER_REASONS;
    this.reasons.set(key, (this.reasons.get(key) ?? 0) + count);
  }

  /** E.g. `2 log records rejected: 1 × trace_id is 5 bytes (must be 16 or empty); 1 × …`. */
  message(noun: string): string {
    const parts = [...this.reasons].map(([reason, n]) => `${n} × ${reason}`);
    return `${this.count} ${noun} rejected: ${parts.join('; ')}`;
  }

  /** True when every reason is one of size (the records can never fit, whatever the client fixes). */
  onlyOversize(): boolean {
    return [...this.reasons.keys()].every((r) => r.startsWith(OVERSIZE_PREFIX));
  }
}

export function oversize(maxMessageBytes: number): string {
  return `${OVERSIZE_PREFIX}: with its resource and scope it needs more than the ${maxMessageBytes} bytes of one Kafka message (INGEST_MAX_MESSAGE_BYTES)`;
}

/** Framing costs of one encoding, as upper bounds in bytes. */
export interface Framing {
  /** The request's own envelope (empty for protobuf, `{"resourceLogs":[]}` for JSON). */
  envelope: number;
  /** Added to a resource's header to hold its scopes. */
  resource: number;
  /** Added to a scope's header to hold its records. */
  scope: number;
  /** Added to a record's size inside its scope. */
  record(bytes: number): number;
}

/** One Kafka message's worth of a request: the same tree, each part within the message budget. */
export type Chunk<H, R> = ScannedResource<H, R>[];

/**
 * Cuts the accepted records into chunks of at most `maxBytes` encoded (framing counted as upper
 * bounds), in order, repeating a resource's and scope's header in every chunk that holds some of its
 * records. A record that cannot fit even alone with its headers is rejected as oversize. Resources and
 * scopes without records are dropped: the pipeline makes rows of records only.
 */
export function splitRequest<H, R>(
  resources: readonly ScannedResource<H, R>[],
  framing: Framing,
  maxBytes: number,
  rejections: Rejections,
): Chunk<H, R>[] {
  const chunks: Chunk<H, R>[] = [];
  let chunk: Chunk<H, R> = [];
  let size = framing.envelope;
  const flush = () => {
    if (chunk.length > 0) chunks.push(chunk);
    chunk = [];
    size = framing.envelope;
  };
  for (const resource of resources) {
    const resourceCost = resource.headerBytes + framing.resource;
    // The resource's and scope's entries in the current chunk, undefined until a record opens them.
    let openResource: ScannedResource<H, R> | undefined;
    for (const scope of resource.scopes) {
      const scopeCost = scope.headerBytes + framing.scope;
      let openScope: ScannedScope<H, R> | undefined;
      for (const record of scope.records) {
        const recordCost = framing.record(record.bytes);
        if (framing.envelope + resourceCost + scopeCost + recordCost > maxBytes) {
          rejections.add(oversize(maxBytes));
          continue;
        }
        const opening =
          (openResource === undefined ? resourceCost : 0) + (openScope === undefined ? scopeCost : 0);
        if (size + opening + recordCost > maxBytes) {
          flush();
          openResource = undefined;
          openScope = undefined;
        }
        if (openResource === undefined) {
          openResource = { header: resource.header, headerBytes: resource.headerBytes, scopes: [] };
          chunk.push(openResource);
          size += resourceCost;
        }
        if (openScope === undefined) {
          openScope = { header: scope.header, headerBytes: scope.headerBytes, records: [] };
          openResource.scopes.push(openScope);
          size += scopeCost;
        }
        openScope.records.push(record);
        size += recordCost;
      }
    }
  }
  flush();
  return chunks;
}
