import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { ClickHouseClient } from '@clickhouse/client';
import { Partitioners, type Admin, type Message, type Producer } from 'kafkajs';
import { StackLensError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import type { StackLensConfig } from '../../config/config';
import type { OtlpJsonLogsRequest, OtlpJsonTracesRequest } from '../../processors/otlp/otlp-json-types';
import { createArchiveStore, type ArchiveStore } from '../../sinks/archive/store';
import { kafkaClient, stackLensTopics } from '../stacklens-app';
import type { ReplayRequest, ReplaySignal } from './replay-arguments';
import { progressReporter } from './replay-progress';
import { startTopicReplay } from './topic-replay';

const gunzipAsync = promisify(gunzip);

/** An archive replay's state file is not what this module writes. */
export class ReplayStateError extends StackLensError {}

/** One archive object, from its key: `<signal>/year=…/minute=…/<topic>-<partition>-<first>-<last>.json.gz`. */
export interface ArchivedObject {
  readonly key: string;
  readonly signal: ReplaySignal;
  readonly topic: string;
  readonly partition: number;
  readonly first: bigint;
  readonly last: bigint;
  /** Start of the minute folder: the time of the object's first message, to the minute. */
  readonly minuteMs: number;
}

const KEY =
  /^(logs|traces)\/year=(\d{4})\/month=(\d{2})\/day=(\d{2})\/hour=(\d{2})\/minute=(\d{2})\/([A-Za-z0-9._-]+)-(\d+)-(\d+)-(\d+)\.json\.gz$/;

/** The object a key names, or undefined for anything else (continuation markers, stray files). */
export function parseArchiveKey(key: string): ArchivedObject | undefined {
  const m = KEY.exec(key);
  if (m === null) return undefined;
  const [, signal, year, month, day, hour, minute, topic, partition, first, last] = m as unknown as string[];
  return {
    key,
    signal: signal as ReplaySignal,
    topic: topic as string,
    partition: Number(partition),
    first: BigInt(first as string),
    last: BigInt(last as string),
    minuteMs: Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute)),
  };
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

/**
 * The messages an object is produced back as: one per resource entry (each a valid OTLP/JSON export
 * request, as the archive merged the original requests by concatenating them), keyed by the object
 * and the entry's index so a consumer can recognize a message produced twice.
 */
export function objectMessages(object: ArchivedObject, body: Buffer, partition: number): Message[] {
  const request = JSON.parse(body.toString('utf8')) as OtlpJsonLogsRequest & OtlpJsonTracesRequest;
  const entries: (OtlpJsonLogsRequest | OtlpJsonTracesRequest)[] =
    object.signal === 'logs'
      ? (request.resourceLogs ?? []).map((r) => ({ resourceLogs: [r] }))
      : (request.resourceSpans ?? []).map((r) => ({ resourceSpans: [r] }));
  const name = object.key.slice(object.key.lastIndexOf('/') + 1, -'.json.gz'.length);
  return entries.map((entry, i) => ({
    key: `${name}#${i}`,
    value: JSON.stringify(entry),
    partition,
    headers: { 'content-type': 'application/json', 'stacklens.replay.object': object.key },
  }));
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
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await admin.connect();
  await producer.connect();
  let produced: boolean;
  try {
    const partitions = await ensureTargets(admin, request.signals, targets, live, request.toTopics);
    const listed: ArchivedObject[] = [];
    for (const signal of request.signals) {
      for (const key of await store.list(`${signal}/`)) {
        const object = parseArchiveKey(key);
        // The bucket may hold other tenants' objects (another TOPIC_PREFIX): only ours.
        if (object !== undefined && object.topic === live[signal]) listed.push(object);
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

async function produceObjects(args: {
  store: ArchiveStore;
  producer: Producer;
  state: ReplayState;
  selected: Map<string, ArchivedObject[]>;
  targets: Record<ReplaySignal, string>;
  partitions: Record<ReplaySignal, number>;
  signal: AbortSignal;
  output: NodeJS.WriteStream;
  label: string;
}): Promise<boolean> {
  const all = [...args.selected.values()].flat();
  const progress = progressReporter({ label: args.label, unit: 'archive objects', stream: args.output });
  let done = all.filter((o) => args.state.done(o)).length;
  progress.update({ done, total: all.length });
  try {
    for (const objects of args.selected.values()) {
      for (const object of objects) {
        if (args.state.done(object)) continue;
        if (args.signal.aborted) return false;
        const body = await args.store.get(object.key);
        if (body === undefined) continue; // listed, then gone (lifecycle rule): nothing to replay
        const messages = objectMessages(
          object,
          await gunzipAsync(body),
          object.partition % args.partitions[object.signal],
        );
        if (messages.length > 0) {
          await args.producer.send({ topic: args.targets[object.signal], acks: -1, messages });
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
