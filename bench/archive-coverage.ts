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
 * The archive keys of `signal` in the day folders from `fromMs` to `toMs`: objects are filed by their
 * first message's Kafka timestamp, so a run's objects sit in the days the run produced in.
 */
export async function listArchiveKeys(
  store: ArchiveStore,
  signal: ArchiveSignal,
  fromMs: number,
  toMs: number,
): Promise<string[]> {
  const days = new Set<string>();
  for (let t = fromMs; t < toMs + 86_400_000; t += 86_400_000) {
    days.add(hivePartition(Math.min(t, toMs)).replace(/\/hour=.*$/, '/'));
  }
  const keys: string[] = [];
  for (const day of days) keys.push(...(await store.list(day)));
  return keys.filter((key) => key.slice(key.lastIndexOf('/') + 1).startsWith(`${signal}_`));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
