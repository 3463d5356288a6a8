/** A change not yet on disk: the value object (null: deleted) and, once serialized, its bytes. */
export interface Change<V> {
  readonly value: V | null;
  bytes?: Buffer | null;
}

/**
 * The changes of a persistent store that are not on disk yet, by entry id, in two generations:
 * `pending` (the open checkpoint) and `committing` (sealed by `seal`, serialized then, written once
 * Kafka committed them). Reads look here before the disk: pending first. Optionally indexes
 * changes by a group (a window store's key) so that one group's changes are found without a scan.
 */
export class CommitOverlay<V, C extends Change<V>> {
  private pending = new Map<string, C>();
  private committing = new Map<string, C>();
  private readonly groups = new Map<string, Set<string>>();

  constructor(
    private readonly serializeValue: (value: V) => Buffer | null,
    private readonly groupOf?: (change: C) => string,
  ) {}

  get(id: string): C | undefined {
    return this.pending.get(id) ?? this.committing.get(id);
  }

  isPending(id: string): boolean {
    return this.pending.has(id);
  }

  set(id: string, change: C): void {
    this.pending.set(id, change);
    if (this.groupOf === undefined) return;
    const group = this.groupOf(change);
    let ids = this.groups.get(group);
    if (ids === undefined) {
      ids = new Set();
      this.groups.set(group, ids);
    }
    ids.add(id);
  }

  /** The changelog record's value and the bytes written at commit: serialized once, at the latest at the seal. */
  bytes(change: C): Buffer | null {
    if (change.bytes === undefined) {
      change.bytes = change.value === null ? null : this.serializeValue(change.value);
    }
    return change.bytes;
  }

  /** A checkpoint is sealed: the pending changes, serialized now, are the ones its commit writes. */
  seal(): void {
    // The previous commit either completed (committing emptied) or failed, which closes the store.
    for (const [id, change] of this.pending) {
      this.bytes(change);
      this.committing.set(id, change);
    }
    this.pending = new Map();
  }

  /** The sealed changes to write (empty: nothing to write). */
  sealed(): ReadonlyMap<string, C> {
    return this.committing;
  }

  /**
   * The sealed changes `changes` are on disk: forgotten here. False when the overlay was cleared
   * meanwhile (the store closed or wiped): nothing of them is to be kept in memory.
   */
  written(changes: ReadonlyMap<string, C>): boolean {
    if (this.committing !== changes) return false;
    this.committing = new Map();
    if (this.groupOf !== undefined) {
      for (const [id, change] of changes) {
        if (this.pending.has(id)) continue;
        const group = this.groupOf(change);
        const ids = this.groups.get(group);
        ids?.delete(id);
        if (ids?.size === 0) this.groups.delete(group);
      }
    }
    return true;
  }

  /** Every change once, the pending one where both generations change an entry (no copy: do not change the overlay while iterating). */
  *current(): IterableIterator<C> {
    for (const [id, change] of this.committing) if (!this.pending.has(id)) yield change;
    yield* this.pending.values();
  }

  /** A copy of every change, the pending one where both generations change an entry. */
  snapshot(): Map<string, C> {
    return new Map([...this.committing, ...this.pending]);
  }

  /** The changes of one group (see the constructor), the pending one where both generations change an entry. */
  inGroup(group: string): Map<string, C> {
    const changes = new Map<string, C>();
    for (const id of this.groups.get(group) ?? []) changes.set(id, this.get(id) as C);
    return changes;
  }

  clear(): void {
    this.pending = new Map();
    this.committing = new Map();
    this.groups.clear();
  }
}
