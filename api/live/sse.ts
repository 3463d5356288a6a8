import type { Request, Response } from 'express';
import type { Logger } from '../../common/logger';
import type { ConnectionGate, DropReason, LiveChannel, LiveClient } from './hub';
import type { LiveEvent } from './resume-buffer';

export interface SseOptions {
  heartbeatMs: number;
  /** Event name of data events (`log`, `alert`). */
  eventName: string;
  logger: Logger;
  onOpen?: () => void;
  onClose?: () => void;
}

/** How long a dropped client gets to read its notice before its socket is destroyed. */
const DROP_GRACE_MS = 5_000;

/**
 * Serves one Server-Sent Events stream. Every data event carries `id:`, so a reconnecting EventSource
 * sends Last-Event-ID and resumes from the channel's buffer without a gap; when the gap cannot be closed a
 * `notice` event with code `gap` says so. Heartbeat comments keep proxies from timing the stream out.
 */
export function serveSse<T>(
  req: Request,
  res: Response,
  channel: LiveChannel<T>,
  gate: ConnectionGate,
  accepts: (data: T) => boolean,
  lastEventId: string | undefined,
  options: SseOptions,
): void {
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
  const write = (chunk: string) => {
    if (!closed) res.write(chunk);
  };
  const client: LiveClient<T> = {
    accepts,
    send: (event: LiveEvent<T>) =>
      write(`id: ${event.id}\nevent: ${options.eventName}\ndata: ${JSON.stringify(event.data)}\n\n`),
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
    gate.release();
    options.onClose?.();
  };
  res.on('close', finish);
  options.onOpen?.();

  const { replay, complete } = channel.join(client, lastEventId);
  if (!complete)
    write(
      `event: notice\ndata: ${JSON.stringify({ code: 'gap', message: 'some events since Last-Event-ID are no longer buffered' })}\n\n`,
    );
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
