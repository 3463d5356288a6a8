import { lowerBound } from '../../common/lower-bound';

/**
 * Which keys are due at which time, bucketed by `bucketMs`, so that a periodic check visits only the
 * keys due by then instead of scanning every key of a store (the trace correlator's store may hold
 * hundreds of thousands of traces, on disk). Updating a key's due time is O(1) amortized; a check
 * costs the keys of the buckets it reaches plus a sort of them.
 */
export class DueIndex {
  private readonly byBucket = new Map<number, Set<string>>();
  /** Bucket numbers present, ascending. */
  private readonly buckets: number[] = [];
  private readonly bucketOf = new Map<string, number>();
  private readonly dueOf = new Map<string, number>();

  constructor(private readonly bucketMs: number) {}

  /** Sets (or moves) `key`'s due time. */
  set(key: string, dueMs: number): void {
    const bucket = Math.floor(dueMs / this.bucketMs);
    this.dueOf.set(key, dueMs);
    const previous = this.bucketOf.get(key);
    if (previous === bucket) return;
    if (previous !== undefined) this.leave(key, previous);
    this.bucketOf.set(key, bucket);
    let keys = this.byBucket.get(bucket);
    if (keys === undefined) {
      keys = new Set();
      this.byBucket.set(bucket, keys);
      this.buckets.splice(lowerBound(this.buckets, bucket), 0, bucket);
    }
    keys.add(key);
  }

  delete(key: string): void {
    const bucket = this.bucketOf.get(key);
    if (bucket === undefined) return;
    this.leave(key, bucket);
    this.bucketOf.delete(key);
    this.dueOf.delete(key);
  }

  /**
   * The keys due at or before `timeMs`, earliest due first (ties by key), so that what a check does
   * does not depend on the order the keys were indexed in (a restart rebuilds the index).
   */
  dueBy(timeMs: number): string[] {
    const last = Math.floor(timeMs / this.bucketMs);
    const due: string[] = [];
    for (const bucket of this.buckets) {
      if (bucket > last) break;
      for (const key of this.byBucket.get(bucket) ?? []) {
        if ((this.dueOf.get(key) as number) <= timeMs) due.push(key);
      }
    }
    return due.sort((a, b) => (this.dueOf.get(a) as number) - (this.dueOf.get(b) as number) || compare(a, b));
  }

  get size(): number {
    return this.dueOf.size;
  }

  private leave(key: string, bucket: number): void {
    const keys = this.byBucket.get(bucket);
    keys?.delete(key);
    if (keys !== undefined && keys.size === 0) {
      this.byBucket.delete(bucket);
      this.buckets.splice(lowerBound(this.buckets, bucket), 1);
    }
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
