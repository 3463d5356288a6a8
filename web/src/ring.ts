/**
 * The newest `capacity` items, newest first, fed in batches: a live tail of thousands of records per
 * second keeps a bounded amount in memory, and the page renders once per batch, not once per record.
 */
export class NewestFirst<T> {
  private items: T[] = [];
  private pending: T[] = [];
  /** Items that arrived but were pushed out before they were ever shown, or after. */
  dropped = 0;

  constructor(readonly capacity: number) {}

  /** Queues an arriving item (cheap: no copy, no render). */
  push(item: T): void {
    this.pending.push(item);
    if (this.pending.length > this.capacity) {
      // Older pending items would be pushed out by this batch anyway.
      const excess = this.pending.length - this.capacity;
      this.pending.splice(0, excess);
      this.dropped += excess;
    }
  }

  /** Moves the queued items in front; returns whether anything changed (the caller renders then). */
  flush(): boolean {
    if (this.pending.length === 0) return false;
    const incoming = this.pending.reverse();
    this.pending = [];
    const keep = Math.max(0, this.capacity - incoming.length);
    this.dropped += Math.max(0, this.items.length - keep);
    this.items = incoming.concat(this.items.slice(0, keep));
    return true;
  }

  clear(): void {
    this.items = [];
    this.pending = [];
    this.dropped = 0;
  }

  /** The items shown, newest first (a new array after each flush that changed something). */
  get view(): readonly T[] {
    return this.items;
  }
}
