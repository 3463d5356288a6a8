import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../../common/logger';
import { ApiError, NotFoundError, TooManyRequestsError } from '../errors';
import type { RequestGuard } from '../http/request-guard';
import { frameCache, type FrameOf } from './frames';
import type { ConnectionGate, DropReason, LiveChannel, LiveClient } from './hub';
import { dropMessage } from './sse';

/** A WebSocket endpoint: validates the upgrade request, then streams one channel. */
export interface WsRoute<T> {
  channel: LiveChannel<T>;
  /** `log` or `alert`: the `type` of data messages. */
  type: string;
  /** Counts this route's open connections. */
  gauge: { inc(): void; dec(): void };
  /** Authenticates and parses filters; throws an ApiError to refuse the upgrade. */
  accept(req: IncomingMessage, url: URL): (data: T) => boolean;
}

export interface WsOptions {
  heartbeatMs: number;
  gate: ConnectionGate;
  guard: RequestGuard;
  logger: Logger;
}

/** Close code for "try again later" (RFC 6455 registry): sent with a slow-consumer drop. */
const CLOSE_TRY_AGAIN_LATER = 1013;
const CLOSE_GOING_AWAY = 1001;
const DROP_GRACE_MS = 5_000;

/**
 * Attaches the WebSocket endpoints to an HTTP server. Messages are JSON: `{ type: 'log'|'alert', id, data }`
 * for records and `{ type: 'notice', code, message }` before a disconnect. Pings go out every heartbeat; a
 * client that has not answered the previous ping is terminated.
 */
export function attachWebSockets(
  server: Server,
  routes: Record<string, WsRoute<unknown>>,
  options: WsOptions,
): () => void {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const alive = new WeakMap<WebSocket, boolean>();
  const endpoints = new Map(
    Object.entries(routes).map(([path, route]) => [path, { route, frame: wsFrames(route.type) }]),
  );

  // Runs outside Express, straight from the HTTP parser: whatever escapes here is an uncaught exception
  // that ends the process, so every failure becomes a refusal on the socket.
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node removes its own error listener from a socket it hands over for an upgrade.
    socket.on('error', (error) => options.logger.debug({ err: error.message }, 'websocket socket error'));
    try {
      const url = options.guard.url(req);
      options.guard.checkHost(req);
      const endpoint = endpoints.get(url.pathname);
      if (endpoint === undefined) throw new NotFoundError(`no WebSocket endpoint at ${url.pathname}`);
      const { route, frame } = endpoint;
      options.guard.checkOrigin(req);
      const accepts = route.accept(req, url);
      const release = options.gate.tryAcquire();
      if (release === undefined) throw new TooManyRequestsError('live connection limit reached');
      // The slot belongs to the TCP connection and is freed when it closes, whatever closed it: a
      // handshake ws refuses (it destroys the socket without calling back), the client leaving before or
      // after the handshake, a drop, a shutdown.
      socket.once('close', release);
      wss.handleUpgrade(req, socket, head, (ws) => serve(ws, route, accepts, frame));
    } catch (error) {
      if (error instanceof ApiError) {
        refuse(socket, error.status, error.code, error.message, error.headers);
        return;
      }
      options.logger.error(
        {
          path: req.url,
          err: error instanceof Error ? { message: error.message, stack: error.stack } : error,
        },
        'websocket upgrade failed',
      );
      refuse(socket, 500, 'internal', 'internal error');
    }
  };

  const serve = (
    ws: WebSocket,
    route: WsRoute<unknown>,
    accepts: (data: unknown) => boolean,
    frame: FrameOf<unknown>,
  ) => {
    let closed = false;
    const client: LiveClient<unknown> = {
      accepts,
      send: (event) => {
        // The frame is shared by every client: sent as text without being copied or re-encoded.
        if (ws.readyState === ws.OPEN) ws.send(frame(event), { binary: false });
      },
      sizeOf: (event) => frame(event).length,
      bufferedBytes: () => ws.bufferedAmount,
      drop: (reason: DropReason) => {
        if (ws.readyState !== ws.OPEN) return;
        ws.send(JSON.stringify({ type: 'notice', code: reason, message: dropMessage(reason) }));
        ws.close(reason === 'slow_consumer' ? CLOSE_TRY_AGAIN_LATER : CLOSE_GOING_AWAY, reason);
        // A reader that stopped reading never completes the closing handshake: do not hold its buffer.
        setTimeout(() => ws.terminate(), DROP_GRACE_MS).unref();
      },
    };
    alive.set(ws, true);
    ws.on('pong', () => alive.set(ws, true));
    ws.on('message', () => undefined); // clients have nothing to say; maxPayload bounds what they send
    ws.on('error', (error) => options.logger.debug({ err: error.message }, 'websocket error'));
    ws.on('close', () => {
      if (closed) return;
      closed = true;
      route.channel.leave(client);
      route.gauge.dec();
    });
    route.gauge.inc();
    route.channel.join(client);
  };

  const heartbeat = setInterval(() => {
    for (const ws of wss.clients) {
      if (alive.get(ws) === false) {
        ws.terminate();
        continue;
      }
      alive.set(ws, false);
      ws.ping();
    }
  }, options.heartbeatMs);
  heartbeat.unref();

  server.on('upgrade', onUpgrade);
  return () => {
    clearInterval(heartbeat);
    server.off('upgrade', onUpgrade);
    for (const ws of wss.clients) ws.close(CLOSE_GOING_AWAY, 'server_closing');
    wss.close();
  };
}

/** Data messages of one route: `{"type":…,"id":…,"data":…}` around the event's shared JSON. */
function wsFrames(type: string): FrameOf<unknown> {
  return frameCache(
    (event) => `{"type":${JSON.stringify(type)},"id":${JSON.stringify(event.id)},"data":${event.json}}`,
  );
}

/** Answers the upgrade request with an HTTP error, then closes the connection once it is written. */
function refuse(
  socket: Duplex,
  status: number,
  code: string,
  detail: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({ error: code, detail });
  const head = [
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.once('finish', () => socket.destroy());
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  421: 'Misdirected Request',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};
