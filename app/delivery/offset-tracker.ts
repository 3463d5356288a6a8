/**
 * Which alerts-topic offsets may be committed while deliveries finish out of order (each receiver has
 * its own queue): per partition, the lowest offset with a delivery still open, or one past the highest
 * offset seen when none is open. A crash re-reads from there, and the delivery state makes the re-read
 * alerts that were already handled a no-op.
 */
export class OffsetTracker {
  private readonly partitions = new Map<
    number,
    { open: Map<bigint, number>; next: bigint; committed: bigint | undefined }
  >();

  /** An alert read at `offset` with `deliveries` deliveries to finish (0: nothing to deliver). */
  add(partition: number, offset: string, deliveries: number): void {
    const state = this.partition(partition);
    const at = BigInt(offset);
    if (at + 1n > state.next) state.next = at + 1n;
    if (deliveries > 0) state.open.set(at, (state.open.get(at) ?? 0) + deliveries);
  }

  /** One delivery of the alert at `offset` finished (delivered, skipped or dead-lettered). */
  complete(partition: number, offset: string): void {
    const state = this.partitions.get(partition);
    const at = BigInt(offset);
    const left = state?.open.get(at);
    if (state === undefined || left === undefined) return;
    if (left <= 1) state.open.delete(at);
    else state.open.set(at, left - 1);
  }

  /** Deliveries not finished yet, over all partitions. */
  get open(): number {
    let total = 0;
    for (const state of this.partitions.values()) for (const left of state.open.values()) total += left;
    return total;
  }

  /** The positions that moved since the last call, to commit (Kafka commits the next offset to read). */
  committable(): { partition: number; offset: string }[] {
    const moved: { partition: number; offset: string }[] = [];
    for (const [partition, state] of this.partitions) {
      let position = state.next;
      for (const at of state.open.keys()) if (at < position) position = at;
      if (position !== state.committed) moved.push({ partition, offset: position.toString() });
    }
    return moved;
  }

  /** Records that `committable`'s positions were committed. */
  committed(positions: readonly { partition: number; offset: string }[]): void {
    for (const { partition, offset } of positions) this.partition(partition).committed = BigInt(offset);
  }

  private partition(partition: number) {
    let state = this.partitions.get(partition);
    if (state === undefined) {
      state = { open: new Map(), next: 0n, committed: undefined };
      this.partitions.set(partition, state);
    }
    return state;
  }
}
