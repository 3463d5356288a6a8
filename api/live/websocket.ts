import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../../common/logger';
import { ApiError } from '../errors';
import type { ConnectionGate, DropReason, LiveChannel, LiveClient } from './hub';
import type { LiveEvent } from './resume-buffer';
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

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = routes[url.pathname];
    if (route === undefined)
      return refuse(socket, 404, 'not_found', `no WebSocket endpoint at ${url.pathname}`);
    let accepts: (data: unknown) => boolean;
    try {
      accepts = route.accept(req, url);
    } catch (error) {
      if (error instanceof ApiError)
        return refuse(socket, error.status, error.code, error.message, error.headers);
      throw error;
    }
    if (!options.gate.tryAcquire())
      return refuse(socket, 429, 'too_many_requests', 'live connection limit reached', {
        'Retry-After': '1',
      });
    wss.handleUpgrade(req, socket, head, (ws) => serve(ws, route, accepts));
  };

  const serve = (ws: WebSocket, route: WsRoute<unknown>, accepts: (data: unknown) => boolean) => {
    let closed = false;
    const client: LiveClient<unknown> = {
      accepts,
      send: (event: LiveEvent<unknown>) => {
        if (ws.readyState === ws.OPEN)
          ws.send(JSON.stringify({ type: route.type, id: event.id, data: event.data }));
      },
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
      options.gate.release();
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

function refuse(
  socket: Duplex,
  status: number,
  code: string,
  detail: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  const body = JSON.stringify({ error: code, detail });
  const head = [
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  429: 'Too Many Requests',
  503: 'Service Unavailable',
};
