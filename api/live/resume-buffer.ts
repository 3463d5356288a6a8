/** One event of a live stream; `id` is what SSE sends as `id:` and clients echo as Last-Event-ID. */
export class LiveEvent<T> {
  private serialized: string | undefined;

  constructor(
    readonly id: string,
    readonly seq: number,
    readonly data: T,
  ) {}

  /** `data` as JSON, serialized on first use and then shared by every client and transport. */
  get json(): string {
    return (this.serialized ??= JSON.stringify(this.data));
  }
}

export interface Replay<T> {
  events: LiveEvent<T>[];
  /** False when events after `lastEventId` may be missing: evicted, or the id is not one of this stream's. */
  complete: boolean;
}

/**
 * The last `capacity` events of a stream, for SSE resume. Ids are `<epoch>-<seq>`: the epoch tells ids of
 * this process apart from a previous one's (whose sequence restarted), so a stale id is reported as a gap
 * instead of silently skipping or repeating events.
 */
export class ResumeBuffer<T> {
  private readonly ring: (LiveEvent<T> | undefined)[];
  private nextSeq = 1;

  constructor(
    readonly capacity: number,
    readonly epoch: string = Date.now().toString(36),
  ) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError('capacity must be a positive integer');
    this.ring = new Array<LiveEvent<T> | undefined>(capacity);
  }

  append(data: T): LiveEvent<T> {
    const seq = this.nextSeq++;
    const event = new LiveEvent(`${this.epoch}-${seq}`, seq, data);
    this.ring[seq % this.capacity] = event;
    return event;
  }

  /**
   * Events after `lastEventId`, oldest first. An id this stream never issued (another process's, one from
   * the future, garbage) resumes from the live tail with a gap, the way a Kafka consumer whose offset is
   * unknown resets to latest: where it stood is unknowable, so replaying the whole buffer would only hand
   * the client events it may already have, as many as the buffer holds.
   */
  since(lastEventId: string): Replay<T> {
    const match = /^([0-9a-z]+)-(\d{1,15})$/.exec(lastEventId.trim());
    const lastSeq = Number(match?.[2]);
    const newest = this.nextSeq - 1;
    if (match?.[1] !== this.epoch || lastSeq > newest) return { events: [], complete: false };
    const oldest = Math.max(1, newest - this.capacity + 1);
    const events: LiveEvent<T>[] = [];
    for (let seq = Math.max(lastSeq + 1, oldest); seq <= newest; seq++) {
      const event = this.ring[seq % this.capacity];
      if (event !== undefined && event.seq === seq) events.push(event);
    }
    return { events, complete: lastSeq + 1 >= oldest };
  }
}
