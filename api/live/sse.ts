import type { Request, Response } from 'express';
import type { Logger } from '../../common/logger';
import { frameCache, type FrameOf } from './frames';
import type { DropReason, LiveChannel, LiveClient } from './hub';

export interface SseOptions<T> {
  heartbeatMs: number;
  /** The stream's frame of an event (see sseFrames), shared by all its clients. */
  frame: FrameOf<T>;
  logger: Logger;
  onOpen?: () => void;
  onClose?: () => void;
}

/** How long a dropped client gets to read its notice before its socket is destroyed. */
const DROP_GRACE_MS = 5_000;

const GAP_NOTICE = `event: notice\ndata: ${JSON.stringify({
  code: 'gap',
  message:
    'some events since Last-Event-ID are not replayed: no longer buffered, more than the client may ' +
    'queue, or an id this server did not issue',
})}\n\n`;

/** Data frames of one SSE stream: `id`, `event: <eventName>` and the record as one `data:` line. */
export function sseFrames<T>(eventName: string): FrameOf<T> {
  // JSON.stringify escapes line breaks, so the record always fits one `data:` line.
  return frameCache<T>((event) => `id: ${event.id}\nevent: ${eventName}\ndata: ${event.json}\n\n`);
}

/**
 * Serves one Server-Sent Events stream. Every data event carries `id:`, so a reconnecting EventSource
 * sends Last-Event-ID and resumes from the channel's buffer without a gap; when the gap cannot be closed a
 * `notice` event with code `gap` says so. Heartbeat comments keep proxies from timing the stream out.
 * The caller owns the connection slot and frees it when the response closes.
 */
export function serveSse<T>(
  req: Request,
  res: Response,
  channel: LiveChannel<T>,
  accepts: (data: T) => boolean,
  lastEventId: string | undefined,
  options: SseOptions<T>,
): void {
  // A client that goes away mid-write must not turn into an unhandled 'error' event.
  const onError = (error: Error) => options.logger.debug({ err: error.message }, 'sse connection error');
  req.on('error', onError);
  res.on('error', onError);
  res.status(200);
  res.set({
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  res.flushHeaders();
  req.socket.setNoDelay(true);
  res.write('retry: 2000\n\n');

  let closed = false;
  const write = (chunk: string | Buffer) => {
    if (!closed) res.write(chunk);
  };
  const client: LiveClient<T> = {
    accepts,
    send: (event) => write(options.frame(event)),
    sizeOf: (event) => options.frame(event).length,
    bufferedBytes: () => res.writableLength,
    drop: (reason: DropReason) => {
      write(`event: notice\ndata: ${JSON.stringify({ code: reason, message: dropMessage(reason) })}\n\n`);
      finish();
      res.end();
      setTimeout(() => res.destroy(), DROP_GRACE_MS).unref();
    },
  };

  const heartbeat = setInterval(() => write(`: heartbeat ${Date.now()}\n\n`), options.heartbeatMs);
  heartbeat.unref();
  const finish = () => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    channel.leave(client);
    options.onClose?.();
  };
  res.on('close', finish);
  options.onOpen?.();

  const { replay, complete } = channel.join(client, lastEventId);
  if (!complete) write(GAP_NOTICE);
  for (const event of replay) client.send(event);
  options.logger.debug({ path: req.path, resumed: lastEventId !== undefined }, 'sse client connected');
}

export function dropMessage(reason: DropReason): string {
  switch (reason) {
    case 'slow_consumer':
      return 'disconnected: the client did not keep up with the stream';
    case 'feed_ended':
      return 'disconnected: the live feed stopped';
    case 'server_closing':
      return 'disconnected: the server is shutting down';
  }
}
