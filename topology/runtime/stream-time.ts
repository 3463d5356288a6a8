import type { Admin } from 'kafkajs';

/**
 * A task's stream time survives restarts in the metadata of its committed offsets (as Kafka Streams
 * does): without it a restarted task would start from -Infinity and accept records that were late
 * before the crash, re-opening windows that were already emitted and evicted.
 */
export function encodeStreamTime(streamTime: number): string | null {
  return Number.isFinite(streamTime) ? JSON.stringify({ streamTime }) : null;
}

function decodeStreamTime(metadata: string | null): number {
  if (!metadata) return Number.NEGATIVE_INFINITY;
  try {
    const parsed = JSON.parse(metadata) as { streamTime?: unknown };
    return typeof parsed.streamTime === 'number' ? parsed.streamTime : Number.NEGATIVE_INFINITY;
  } catch {
    return Number.NEGATIVE_INFINITY;
  }
}

/** What the group committed for one partition: the next offset to read (none: -1) and the stream time. */
export interface CommittedPosition {
  readonly offset: bigint;
  readonly streamTime: number;
}

/** The committed position of each (topic, partition) of `topics`, keyed `topic|partition`. */
export async function committedPositions(
  admin: Pick<Admin, 'fetchOffsets'>,
  groupId: string,
  topics: readonly string[],
): Promise<Map<string, CommittedPosition>> {
  const result = new Map<string, CommittedPosition>();
  if (topics.length === 0) return result;
  for (const { topic, partitions } of await admin.fetchOffsets({ groupId, topics: [...topics] })) {
    for (const p of partitions) {
      result.set(`${topic}|${p.partition}`, {
        offset: BigInt(p.offset),
        streamTime: decodeStreamTime(p.metadata),
      });
    }
  }
  return result;
}
