import { CACHE_ENTRY_OVERHEAD_BYTES } from './lmdb-environment';

/**
 * A persistent store's deserialized values, least recently used evicted once they exceed a number
 * of bytes (their serialized size plus CACHE_ENTRY_OVERHEAD_BYTES each): what bounds the store's
 * memory, whatever the number of entries on disk.
 */
export class ValueCache<E> {
  private readonly entries = new Map<string, { entry: E; bytes: number }>();
  private total = 0;

  constructor(private readonly maxBytes: number) {}

  /** The cached entry, now the most recently used. */
  get(id: string): E | undefined {
    const cached = this.entries.get(id);
    if (cached === undefined) return undefined;
    // Most recently used last: eviction takes from the front.
    this.entries.delete(id);
    this.entries.set(id, cached);
    return cached.entry;
  }

  /** The cached entry, without changing its place in the eviction order. */
  peek(id: string): E | undefined {
    return this.entries.get(id)?.entry;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  remember(id: string, entry: E, serializedBytes: number): void {
    this.forget(id);
    const bytes = serializedBytes + CACHE_ENTRY_OVERHEAD_BYTES;
    this.entries.set(id, { entry, bytes });
    this.total += bytes;
    for (const [oldest, cached] of this.entries) {
      if (this.total <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.total -= cached.bytes;
    }
  }

  forget(id: string): void {
    const cached = this.entries.get(id);
    if (cached === undefined) return;
    this.entries.delete(id);
    this.total -= cached.bytes;
  }

  clear(): void {
    this.entries.clear();
    this.total = 0;
  }

  /** Entries and accounted bytes held now (never more bytes than the bound after a remember). */
  usage(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.total };
  }
}
