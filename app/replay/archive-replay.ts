import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { ClickHouseClient } from '@clickhouse/client';
import { ConfigResourceTypes, type Admin, type Message, type Producer } from 'kafkajs';
import { StackLensError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import type { StackLensConfig } from '../../config/config';
import { decodeLogsMessage, decodeTracesMessage } from '../../processors/otlp/decode';
import { decodedLogsToOtlpJson, decodedTracesToOtlpJson } from '../../processors/otlp/to-otlp-json';
import type { ArchiveFormat } from '../../sinks/archive/layout';
import { createArchiveStore, type ArchiveStore } from '../../sinks/archive/store';
import { HEADER, murmur2Partitioner } from '../../topology';
import { kafkaClient } from '../stacklens-app';
import { stackLensTopics } from '../topics';
import type { ReplayRequest, ReplaySignal } from './replay-arguments';
import { progressReporter } from './replay-progress';
import { startTopicReplay } from './topic-replay';

const gunzipAsync = promisify(gunzip);

/** An archive replay's state file is not what this module writes. */
export class ReplayStateError extends StackLensError {}

/**
 * One archive object, from its key (sinks/archive/layout.ts):
 * `year=…/minute=…/<signal>_<topic>-<partition>-<first>-<last>.<json|binpb>[.gz]`.
 */
export interface ArchivedObject {
  readonly key: string;
  /** The source range the file is named after (`<topic>-<partition>-<first>-<last>`): message keys start with it. */
  readonly name: string;
  readonly format: ArchiveFormat;
  readonly signal: ReplaySignal;
  readonly topic: string;
  readonly partition: number;
  readonly first: bigint;
  readonly last: bigint;
  /** Start of the minute folder: the time of the object's first message, to the minute. */
  readonly minuteMs: number;
}

const KEY =
  /^year=(\d{4})\/month=(\d{2})\/day=(\d{2})\/hour=(\d{2})\/minute=(\d{2})\/(logs|traces)_(([A-Za-z0-9._-]+)-(\d+)-(\d+)-(\d+))\.(json|binpb)(\.gz)?$/;

/** The object a key names, or undefined for anything else (continuation markers, stray files). */
export function parseArchiveKey(key: string): ArchivedObject | undefined {
  const m = KEY.exec(key);
  if (m === null) return undefined;
  const [, year, month, day, hour, minute, signal, name, topic, partition, first, last, extension, gz] =
    m as unknown as (string | undefined)[];
  return {
    key,
    name: name as string,
    format: {
      marshaler: extension === 'json' ? 'otlp_json' : 'otlp_proto',
      compression: gz === undefined ? 'none' : 'gzip',
    },
    signal: signal as ReplaySignal,
    topic: topic as string,
    partition: Number(partition),
    first: BigInt(first as string),
    last: BigInt(last as string),
    minuteMs: Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute)),
  };
}

/**
 * An object's body as the OTLP/JSON export request objectMessages reads: uncompressed, and decoded
 * from protobuf when ARCHIVE_MARSHALER was otlp_proto (the key's extension says which, as for the
 * awss3 receiver).
 */
export async function archivedJson(object: ArchivedObject, body: Buffer): Promise<Buffer> {
  const bytes = object.format.compression === 'gzip' ? await gunzipAsync(body) : body;
  if (object.format.marshaler === 'otlp_json') return bytes;
  const headers = { 'content-type': 'application/x-protobuf' };
  const document =
    object.signal === 'logs'
      ? decodedLogsToOtlpJson(decodeLogsMessage(bytes, headers))
      : decodedTracesToOtlpJson(decodeTracesMessage(bytes, headers));
  return Buffer.from(JSON.stringify(document), 'utf8');
}

/**
 * The objects to replay, per source partition (`signal/topic/partition`) in offset order — the order
 * the partition received them, which is the event-time order the pipeline saw. An object is in the
 * range when its minute folder is: from the minute of `fromMs` (inclusive) to `toMs` (exclusive).
 */
export function selectArchivedObjects(
  objects: readonly ArchivedObject[],
  fromMs: number | undefined,
  toMs: number | undefined,
): Map<string, ArchivedObject[]> {
  const fromMinute = fromMs === undefined ? Number.NEGATIVE_INFINITY : Math.floor(fromMs / 60_000) * 60_000;
  const byPartition = new Map<string, ArchivedObject[]>();
  for (const o of objects) {
    if (o.minuteMs < fromMinute || (toMs !== undefined && o.minuteMs >= toMs)) continue;
    const k = partitionKey(o);
    let list = byPartition.get(k);
    if (list === undefined) byPartition.set(k, (list = []));
    list.push(o);
  }
  for (const list of byPartition.values())
    list.sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  return byPartition;
}

export function partitionKey(o: Pick<ArchivedObject, 'signal' | 'topic' | 'partition'>): string {
  return `${o.signal}/${o.topic}/${o.partition}`;
}

/** Where a dead-lettered part of an archived request is: indexes into the object's request. */
export interface ArchivedPart {
  resource: number;
  scope?: number;
  record?: number;
}

/** One message to produce, with the part of the object it holds (for a dead letter that names it). */
export interface ReplayMessage {
  message: Message;
  part: ArchivedPart;
  /** Upper estimate of its size in a record batch (see messageBytes). */
  bytes: number;
}

/** A part of an object that cannot be produced: too large for one message even alone. */
export interface ReplayDeadLetter {
  part: ArchivedPart;
  /** JSON bytes of the smallest message that would hold it. */
  bytes: number;
}

export interface ObjectMessages {
  messages: ReplayMessage[];
  deadLetters: ReplayDeadLetter[];
}

/** The field names of one signal's OTLP/JSON request: resource entries, their scopes, the scopes' records. */
const FIELDS = {
  logs: { resources: 'resourceLogs', scopes: 'scopeLogs', records: 'logRecords' },
  traces: { resources: 'resourceSpans', scopes: 'scopeSpans', records: 'spans' },
} as const;

type Json = Record<string, unknown>;

/**
 * Upper estimate of a message's size in a produce request's record batch: key, value, header names and
 * values, plus 64 bytes for the record's varint fields and its share of the batch header.
 */
function messageBytes(message: Message): number {
  let bytes =
    64 + Buffer.byteLength(String(message.key ?? '')) + Buffer.byteLength(String(message.value ?? ''));
  for (const [name, value] of Object.entries(message.headers ?? {}))
    bytes += Buffer.byteLength(name) + Buffer.byteLength(String(value));
  return bytes;
}

/**
 * The messages an object is produced back as, each at most `maxMessageBytes`: one per resource entry
 * (each a valid OTLP/JSON export request, as the archive merged the original requests by
 * concatenating them); a resource entry too large for one message is split by scope, and a scope too
 * large by records, each part keeping its resource and scope. A record too large even alone (with
 * its resource and scope) cannot be produced: it is returned as a dead letter. Keys name the object
 * and the part (`<object>#<resource>`, `#<resource>.<scope>`, `#<resource>.<scope>.<first record>`),
 * so a consumer can recognize a message produced twice.
 */
export function objectMessages(
  object: ArchivedObject,
  body: Buffer,
  partition: number,
  maxMessageBytes: number,
): ObjectMessages {
  const fields = FIELDS[object.signal];
  const request = JSON.parse(body.toString('utf8')) as Json;
  const resources = (request[fields.resources] as Json[] | undefined) ?? [];
  const name = object.name;
  const headers = { 'content-type': 'application/json', 'stacklens.replay.object': object.key };
  const out: ObjectMessages = { messages: [], deadLetters: [] };

  /** Adds the message for `resource` unless it is over the limit; says which, with its size. */
  const attempt = (resource: Json, key: string, part: ArchivedPart): { ok: boolean; bytes: number } => {
    const message: Message = {
      key,
      value: JSON.stringify({ [fields.resources]: [resource] }),
      partition,
      headers,
    };
    const bytes = messageBytes(message);
    if (bytes > maxMessageBytes) return { ok: false, bytes };
    out.messages.push({ message, part, bytes });
    return { ok: true, bytes };
  };

  resources.forEach((resource, r) => {
    const whole = attempt(resource, `${name}#${r}`, { resource: r });
    const scopes = (resource[fields.scopes] as Json[] | undefined) ?? [];
    if (whole.ok) return;
    if (scopes.length === 0) {
      out.deadLetters.push({ part: { resource: r }, bytes: whole.bytes });
      return;
    }
    scopes.forEach((scope, s) => {
      const alone = attempt({ ...resource, [fields.scopes]: [scope] }, `${name}#${r}.${s}`, {
        resource: r,
        scope: s,
      });
      if (alone.ok) return;
      const records = (scope[fields.records] as unknown[] | undefined) ?? [];
      if (records.length === 0) {
        out.deadLetters.push({ part: { resource: r, scope: s }, bytes: alone.bytes });
        return;
      }
      // Greedy packing in record order: each part holds the most records that fit after the previous.
      // Sizes are summed rather than measured per try: the empty envelope plus each record's JSON and comma.
      const envelope = (chunk: unknown[]) => ({
        ...resource,
        [fields.scopes]: [{ ...scope, [fields.records]: chunk }],
      });
      const keyOf = (first: number) => `${name}#${r}.${s}.${first}`;
      const emptyBytes = messageBytes({
        key: keyOf(records.length),
        value: JSON.stringify({ [fields.resources]: [envelope([])] }),
        headers,
      });
      const sizes = records.map((record) => Buffer.byteLength(JSON.stringify(record)) + 1);
      let first = 0;
      while (first < records.length) {
        let end = first;
        let bytes = emptyBytes;
        while (end < records.length && bytes + sizes[end]! <= maxMessageBytes) bytes += sizes[end++]!;
        const part = { resource: r, scope: s, record: first };
        if (end === first) {
          out.deadLetters.push({ part, bytes: bytes + sizes[first]! });
          first++;
          continue;
        }
        const message: Message = {
          key: keyOf(first),
          value: JSON.stringify({ [fields.resources]: [envelope(records.slice(first, end))] }),
          partition,
          headers,
        };
        out.messages.push({ message, part, bytes: messageBytes(message) });
        first = end;
      }
    });
  });
  return out;
}

/**
 * What an archive replay already produced: per source partition, the last offset of the last object
 * whose messages were all acknowledged. Written after each object (write beside, then rename).
 */
export class ReplayState {
  private constructor(
    private readonly path: string,
    private readonly produced: Map<string, bigint>,
  ) {}

  static async open(dir: string, applicationId: string): Promise<ReplayState> {
    const path = join(dir, `${applicationId}.json`);
    let text: string | undefined;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const produced = new Map<string, bigint>();
    if (text !== undefined) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (err) {
        throw new ReplayStateError(`${path} is not JSON`, { cause: err });
      }
      for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
        if (typeof v !== 'string' || !/^\d+$/.test(v))
          throw new ReplayStateError(`${path}: bad offset for ${k}`);
        produced.set(k, BigInt(v));
      }
    }
    await mkdir(dir, { recursive: true });
    return new ReplayState(path, produced);
  }

  /** The object was produced before (its last offset is at or before the partition's marker). */
  done(object: ArchivedObject): boolean {
    const last = this.produced.get(partitionKey(object));
    return last !== undefined && object.last <= last;
  }

  async markDone(object: ArchivedObject): Promise<void> {
    this.produced.set(partitionKey(object), object.last);
    const temporary = `${this.path}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(
      temporary,
      JSON.stringify(Object.fromEntries([...this.produced].map(([k, v]) => [k, String(v)]))),
    );
    await rename(temporary, this.path);
  }
}

export interface ArchiveReplayOptions {
  config: StackLensConfig;
  logger: Logger;
  request: ReplayRequest;
  applicationId: string;
  stateDir: string;
  signal: AbortSignal;
  output: NodeJS.WriteStream;
  /** See TopicReplayOptions.clickhouse. */
  clickhouse?: ClickHouseClient;
  /** Hands over how to stop the topic replay stage once it runs. */
  onTopicReplay?: (stop: () => Promise<void>) => void;
}

/**
 * `stacklens replay --archive`: the archived requests of the time range, per source partition in
 * offset order, produced to the (prefixed) input topics (`--to-topics`), or to the replay's private
 * topics `<applicationId>-otel-logs|traces` that the replay topology then reads to their end. An
 * object's messages go to its source partition number (modulo the target's partitions), so each
 * partition's order is kept. Resolves true when everything was replayed, false when stopped early.
 */
export async function replayArchive(options: ArchiveReplayOptions): Promise<boolean> {
  const { config, logger, request, applicationId } = options;
  const log = logger.child({ component: 'archive-replay', application: applicationId });
  const live = stackLensTopics(config);
  const targets: Record<ReplaySignal, string> = request.toTopics
    ? { logs: live.logs, traces: live.traces }
    : { logs: `${applicationId}-otel-logs`, traces: `${applicationId}-otel-traces` };
  const store = createArchiveStore({
    s3: config.archive.s3 && {
      endpoint: config.archive.s3.endpoint,
      bucket: config.archive.s3.bucket,
      region: config.archive.s3.region,
      credentials:
        config.archive.s3.accessKeyId !== undefined && config.archive.s3.secretAccessKey !== undefined
          ? { accessKeyId: config.archive.s3.accessKeyId, secretAccessKey: config.archive.s3.secretAccessKey }
          : undefined,
    },
    dir: config.archive.dir,
  });
  const kafka = kafkaClient(config, logger, `${applicationId}-archive-producer`);
  const admin = kafka.admin();
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: murmur2Partitioner,
  });
  await admin.connect();
  await producer.connect();
  let produced: boolean;
  try {
    const partitions = await ensureTargets(admin, request.signals, targets, live, request.toTopics);
    const dlqTopic = `${applicationId}-dlq`;
    await ensureDeadLetterTopic(admin, dlqTopic);
    const maxMessageBytes = await messageLimits(
      admin,
      request.signals,
      targets,
      config.ingest.maxMessageBytes,
    );
    const listed: ArchivedObject[] = [];
    for (const signal of request.signals) {
      for (const key of await store.list('year=')) {
        const object = parseArchiveKey(key);
        // The bucket may hold other tenants' objects (another TOPIC_PREFIX): only ours.
        if (object !== undefined && object.signal === signal && object.topic === live[signal])
          listed.push(object);
      }
    }
    const from =
      request.from !== undefined && 'timestampMs' in request.from ? request.from.timestampMs : undefined;
    const to = request.to !== undefined && 'timestampMs' in request.to ? request.to.timestampMs : undefined;
    const selected = selectArchivedObjects(listed, from, to);
    const state = await ReplayState.open(options.stateDir, applicationId);
    log.info(
      { objects: [...selected.values()].reduce((n, l) => n + l.length, 0), targets },
      'archive objects to replay',
    );
    produced = await produceObjects({
      store,
      producer,
      state,
      selected,
      targets,
      partitions,
      maxMessageBytes,
      dlqTopic,
      log,
      signal: options.signal,
      output: options.output,
      label: `archive ${applicationId}`,
    });
  } finally {
    await producer.disconnect();
    await admin.disconnect();
    store.close();
  }
  if (!produced || request.toTopics) return produced;

  const progress = progressReporter({ label: `replay ${applicationId}`, stream: options.output });
  try {
    const replay = await startTopicReplay({
      config,
      logger,
      // The private topics hold exactly the range: read them whole.
      request: { ...request, from: undefined, to: undefined },
      applicationId,
      sources: targets,
      clickhouse: options.clickhouse,
      onProgress: (p) => progress.update(p),
    });
    options.onTopicReplay?.(() => replay.stop());
    if (options.signal.aborted) await replay.stop();
    return (await replay.done).completed;
  } finally {
    progress.stop();
  }
}

/** Creates the private topics (as many partitions as the input topics); returns each target's partition count. */
async function ensureTargets(
  admin: Admin,
  signals: readonly ReplaySignal[],
  targets: Record<ReplaySignal, string>,
  live: { logs: string; traces: string },
  toLiveTopics: boolean,
): Promise<Record<ReplaySignal, number>> {
  const counts = { logs: 1, traces: 1 };
  const existing = new Set(await admin.listTopics());
  for (const signal of signals) {
    const source = (await admin.fetchTopicMetadata({ topics: [live[signal]] })).topics[0];
    const count = source?.partitions.length ?? 1;
    if (!toLiveTopics && !existing.has(targets[signal])) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic: targets[signal], numPartitions: count, replicationFactor: 1 }],
      });
    }
    const target = (await admin.fetchTopicMetadata({ topics: [targets[signal]] })).topics[0];
    counts[signal] = target?.partitions.length ?? count;
  }
  return counts;
}

/** The dead-letter topic of the replay, created as the streams runtime would (one partition) when absent. */
async function ensureDeadLetterTopic(admin: Admin, topic: string): Promise<void> {
  if ((await admin.listTopics()).includes(topic)) return;
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
  });
}

/**
 * The largest message each target takes: the topic's `max.message.bytes` (the broker checks it
 * against a whole record batch), capped by INGEST_MAX_MESSAGE_BYTES, less a record batch's header.
 */
async function messageLimits(
  admin: Admin,
  signals: readonly ReplaySignal[],
  targets: Record<ReplaySignal, string>,
  configured: number,
): Promise<Record<ReplaySignal, number>> {
  const limits = { logs: configured, traces: configured };
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: signals.map((signal) => ({
      type: ConfigResourceTypes.TOPIC,
      name: targets[signal],
      configNames: ['max.message.bytes'],
    })),
  });
  for (const signal of signals) {
    const entry = described.resources
      .find((r) => r.resourceName === targets[signal])
      ?.configEntries.find((c) => c.configName === 'max.message.bytes');
    const topicLimit = Number(entry?.configValue);
    if (Number.isInteger(topicLimit) && topicLimit > 0) limits[signal] = Math.min(configured, topicLimit);
    limits[signal] -= RECORD_BATCH_HEADER_BYTES;
  }
  return limits;
}

/** A record batch's header (v2), counted once per produce batch against the broker's limit. */
const RECORD_BATCH_HEADER_BYTES = 61;

/** Whether the broker refused a produce for its size (kafkajs may wrap the protocol error). */
function isMessageTooLarge(error: unknown): boolean {
  for (let e = error as { type?: unknown; cause?: unknown; originalError?: unknown } | undefined; e;) {
    if (e.type === 'MESSAGE_TOO_LARGE' || e.type === 'RECORD_LIST_TOO_LARGE') return true;
    e = (e.originalError ?? e.cause) as typeof e;
  }
  return false;
}

/** Consecutive messages grouped so that each group's record batch stays within `maxBytes`. */
function batches(messages: readonly ReplayMessage[], maxBytes: number): ReplayMessage[][] {
  const out: ReplayMessage[][] = [];
  let current: ReplayMessage[] = [];
  let bytes = 0;
  for (const m of messages) {
    if (current.length > 0 && bytes + m.bytes > maxBytes) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(m);
    bytes += m.bytes;
  }
  if (current.length > 0) out.push(current);
  return out;
}

function describePart(part: ArchivedPart): string {
  return [
    `resource ${part.resource}`,
    ...(part.scope === undefined ? [] : [`scope ${part.scope}`]),
    ...(part.record === undefined ? [] : [`record ${part.record}`]),
  ].join(', ');
}

async function produceObjects(args: {
  store: ArchiveStore;
  producer: Producer;
  state: ReplayState;
  selected: Map<string, ArchivedObject[]>;
  targets: Record<ReplaySignal, string>;
  partitions: Record<ReplaySignal, number>;
  maxMessageBytes: Record<ReplaySignal, number>;
  dlqTopic: string;
  log: Logger;
  signal: AbortSignal;
  output: NodeJS.WriteStream;
  label: string;
}): Promise<boolean> {
  const all = [...args.selected.values()].flat();
  const progress = progressReporter({ label: args.label, unit: 'archive objects', stream: args.output });
  let done = all.filter((o) => args.state.done(o)).length;
  progress.update({ done, total: all.length });

  /**
   * A part that no message can hold goes to the replay's DLQ by reference (the object's key and the
   * part's indexes; the archive keeps the data), with the reason in the headers, as the pipeline
   * dead-letters a record it cannot process.
   */
  const deadLetter = async (object: ArchivedObject, dead: ReplayDeadLetter, limit: number, why: string) => {
    const reason = `${why}: ${describePart(dead.part)} of archive object ${object.key} needs ${dead.bytes} bytes, over the ${limit}-byte message limit`;
    args.log.warn(
      { object: object.key, ...dead.part, bytes: dead.bytes, limit, dlq: args.dlqTopic },
      'archived record too large for one message even alone: dead-lettered by reference',
    );
    await args.producer.send({
      topic: args.dlqTopic,
      acks: -1,
      messages: [
        {
          key: `${object.key}#${dead.part.resource}.${dead.part.scope ?? ''}.${dead.part.record ?? ''}`,
          value: JSON.stringify({
            object: object.key,
            signal: object.signal,
            ...dead.part,
            bytes: dead.bytes,
          }),
          headers: {
            [HEADER.error]: reason,
            [HEADER.errorType]: 'MessageTooLarge',
            [HEADER.sourceTopic]: object.topic,
            [HEADER.sourcePartition]: String(object.partition),
            'stacklens.replay.object': object.key,
          },
        },
      ],
    });
  };

  try {
    for (const objects of args.selected.values()) {
      for (const object of objects) {
        if (args.state.done(object)) continue;
        if (args.signal.aborted) return false;
        const body = await args.store.get(object.key);
        if (body === undefined) continue; // listed, then gone (lifecycle rule): nothing to replay
        const limit = args.maxMessageBytes[object.signal];
        const { messages, deadLetters } = objectMessages(
          object,
          await archivedJson(object, body),
          object.partition % args.partitions[object.signal],
          limit,
        );
        for (const dead of deadLetters) await deadLetter(object, dead, limit, 'too large');
        for (const batch of batches(messages, limit)) {
          try {
            await args.producer.send({
              topic: args.targets[object.signal],
              acks: -1,
              messages: batch.map((m) => m.message),
            });
          } catch (error) {
            if (!isMessageTooLarge(error)) throw error;
            // The estimate missed the broker's count: send the batch's messages one by one, and
            // dead-letter any the broker refuses even alone.
            for (const m of batch) {
              try {
                await args.producer.send({
                  topic: args.targets[object.signal],
                  acks: -1,
                  messages: [m.message],
                });
              } catch (single) {
                if (!isMessageTooLarge(single)) throw single;
                await deadLetter(
                  object,
                  { part: m.part, bytes: m.bytes },
                  limit,
                  'refused by the broker as too large',
                );
              }
            }
          }
        }
        await args.state.markDone(object);
        done += 1;
        progress.update({ done, total: all.length });
      }
    }
    return true;
  } finally {
    progress.stop();
  }
}
