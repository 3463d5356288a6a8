import { hivePartition, type ArchiveSignal } from '../sinks/archive/layout';
import type { ArchiveStore } from '../sinks/archive/store';

/** Offsets a topic partition holds: `low` inclusive to `high` exclusive, as Kafka reports them. */
export interface PartitionOffsets {
  partition: number;
  low: number;
  high: number;
}

/**
 * How many of `offsets`' messages of `topic` the archive objects under `keys` hold. Keys end with
 * `/<signal>_<topic>-<partition>-<first>-<last>.<json|binpb>[.gz]` (sinks/archive/layout.ts); the sink writes every
 * offset into exactly one object, so the ranges do not overlap. Keys of other topics are ignored.
 */
export function archivedMessages(
  keys: readonly string[],
  topic: string,
  offsets: readonly PartitionOffsets[],
): number {
  const byPartition = new Map(offsets.map((o) => [o.partition, o]));
  const name = new RegExp(
    `/(?:logs|traces)_${escapeRegExp(topic)}-(\\d+)-(\\d+)-(\\d+)\\.(?:json|binpb)(?:\\.gz)?$`,
  );
  let covered = 0;
  for (const key of keys) {
    const match = name.exec(key);
    if (match === null) continue;
    const held = byPartition.get(Number(match[1]));
    if (held === undefined) continue;
    const first = Math.max(Number(match[2]), held.low);
    const last = Math.min(Number(match[3]), held.high - 1);
    if (last >= first) covered += last - first + 1;
  }
  return covered;
}

/**
 * The archive keys of `signal` in the minute folders from `fromMs` to `toMs`: objects are filed by
 * their first message's Kafka timestamp, so a run's objects sit in the minutes the run produced in.
 * Listing those minutes, not whole days, keeps each poll to the run's own objects: the bucket keeps
 * every earlier run's, and listing a day of them (thousands of keys) at every poll cost the local S3
 * server seconds of CPU on the cores the pipeline was being measured on.
 */
export async function listArchiveKeys(
  store: ArchiveStore,
  signal: ArchiveSignal,
  fromMs: number,
  toMs: number,
): Promise<string[]> {
  const keys: string[] = [];
  for (const folder of minuteFolders(fromMs, toMs)) keys.push(...(await store.list(folder)));
  return keys.filter((key) => key.slice(key.lastIndexOf('/') + 1).startsWith(`${signal}_`));
}

/** The archive's minute folders (`year=…/minute=MM/`) of every minute from `fromMs` to `toMs`. */
export function minuteFolders(fromMs: number, toMs: number): string[] {
  const folders: string[] = [];
  for (let t = Math.floor(fromMs / 60_000) * 60_000; t <= toMs; t += 60_000) {
    folders.push(`${hivePartition(t)}/`);
  }
  return folders;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
