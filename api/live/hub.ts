import type { Observable, Subscription } from 'rxjs';
import { ResumeBuffer, type LiveEvent } from './resume-buffer';

/** Why a client stopped being served, sent to it as a notice before it is disconnected. */
export type DropReason = 'slow_consumer' | 'feed_ended' | 'server_closing';

/** A connected live client, whatever its transport (WebSocket, SSE). */
export interface LiveClient<T> {
  accepts(data: T): boolean;
  /** Queues the event on the client's connection; must not throw. */
  send(event: LiveEvent<T>): void;
  /** Bytes `event` takes on the client's connection (bounds a resume to what the client may queue). */
  sizeOf(event: LiveEvent<T>): number;
  /** Bytes queued on the connection that the client has not read yet. */
  bufferedBytes(): number;
  /** Sends a notice and disconnects; called once. */
  drop(reason: DropReason): void;
}

export interface ChannelOptions {
  /** Events kept for Last-Event-ID resume. */
  resumeEvents: number;
  /** Queued bytes beyond which a client is dropped instead of letting memory grow. */
  clientBufferBytes: number;
  onDrop?: (reason: DropReason) => void;
}

export interface Joined<T> {
  /** Buffered events after the client's Last-Event-ID that it accepts, oldest first. */
  replay: LiveEvent<T>[];
  /** False when some events after Last-Event-ID are not replayed (evicted, unknown id, or over the bound). */
  complete: boolean;
}

/**
 * Fans one source stream (one Kafka consumer per process) out to any number of clients. Each event gets a
 * resumable id and is offered to every client whose filter accepts it. A client whose connection has more
 * than `clientBufferBytes` unread is dropped with a notice: one slow reader must neither stall the others
 * nor make the process buffer without bound.
 */
export class LiveChannel<T> {
  private readonly clients = new Set<LiveClient<T>>();
  private readonly buffer: ResumeBuffer<T>;
  private subscription: Subscription | undefined;
  private ended = false;

  constructor(
    source$: Observable<T>,
    private readonly options: ChannelOptions,
  ) {
    this.buffer = new ResumeBuffer<T>(options.resumeEvents);
    this.subscription = source$.subscribe({
      next: (data) => this.publish(data),
      error: () => this.end('feed_ended'),
      complete: () => this.end('feed_ended'),
    });
  }

  get size(): number {
    return this.clients.size;
  }

  /**
   * Registers a client. With `lastEventId` the events it missed (and accepts) are returned for the caller
   * to send before anything live: registration and replay happen in the same tick, so nothing falls between.
   * A replay is bounded like live delivery (`clientBufferBytes`): it keeps the newest events that fit, so it
   * joins the live stream without a hole, and reports the older ones as a gap.
   */
  join(client: LiveClient<T>, lastEventId?: string): Joined<T> {
    if (this.ended) {
      client.drop('feed_ended');
      return { replay: [], complete: true };
    }
    this.clients.add(client);
    if (lastEventId === undefined) return { replay: [], complete: true };
    const { events, complete } = this.buffer.since(lastEventId);
    const replay: LiveEvent<T>[] = [];
    let bytes = 0;
    for (let i = events.length - 1; i >= 0; i--) {
      const event = events[i]!;
      if (!this.accepts(client, event.data)) continue;
      bytes += client.sizeOf(event);
      if (bytes > this.options.clientBufferBytes) return { replay: replay.reverse(), complete: false };
      replay.push(event);
    }
    return { replay: replay.reverse(), complete };
  }

  leave(client: LiveClient<T>): void {
    this.clients.delete(client);
  }

  close(): void {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
    this.end('server_closing');
  }

  private publish(data: T): void {
    const event = this.buffer.append(data);
    for (const client of this.clients) {
      if (!this.accepts(client, data)) continue;
      if (client.bufferedBytes() > this.options.clientBufferBytes) {
        this.dropClient(client, 'slow_consumer');
        continue;
      }
      client.send(event);
    }
  }

  /**
   * A filter that throws on a malformed record (the feed decodes what others produced) skips that record
   * for that client; it must not escape into the source's subscription and end the stream for everyone.
   */
  private accepts(client: LiveClient<T>, data: T): boolean {
    try {
      return client.accepts(data);
    } catch {
      return false;
    }
  }

  private end(reason: DropReason): void {
    this.ended = true;
    for (const client of [...this.clients]) this.dropClient(client, reason);
  }

  private dropClient(client: LiveClient<T>, reason: DropReason): void {
    this.clients.delete(client);
    this.options.onDrop?.(reason);
    client.drop(reason);
  }
}

/** Gives a slot back; calling it again does nothing, so every way a connection ends may call it. */
export type ReleaseSlot = () => void;

/** Bounds live connections per process (WebSocket and SSE together). */
export class ConnectionGate {
  private open = 0;
  constructor(readonly max: number) {}

  get count(): number {
    return this.open;
  }

  /**
   * Takes a slot, or undefined when all are taken. The release is idempotent and frees only this slot, so a
   * caller can tie it to every event that ends the connection without counting twice.
   */
  tryAcquire(): ReleaseSlot | undefined {
    if (this.open >= this.max) return undefined;
    this.open++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.open--;
    };
  }
}
