import type { InputRecord } from './scenario';

/**
 * Longer pseudo-random inputs from a fixed seed (the same records on every run): several keys and
 * partitions, mostly advancing time with jumps back (out of order, within and beyond grace).
 */
export function generatedRecords(
  seed: number,
  count: number,
  topics: readonly InputRecord['topic'][],
  /** Epoch-scale inputs: timestamps from `base`, every step and jump back `scale` times longer. */
  { base = 0, scale = 1 }: { base?: number; scale?: number } = {},
): InputRecord[] {
  const random = mulberry32(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const records: InputRecord[] = [];
  let time = 0;
  for (let i = 0; i < count; i++) {
    time += Math.floor(random() * 6);
    const back = random() < 0.25 ? Math.floor(random() * 25) : 0;
    records.push({
      topic: pick(topics),
      key: pick(['a', 'b', 'c', 'ab']),
      value: `v${i}`,
      timestamp: base + Math.max(0, time - back) * scale,
      partition: random() < 0.2 ? 1 : 0,
    });
  }
  return records;
}

/** A small seeded PRNG (mulberry32): deterministic inputs without a dependency. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
