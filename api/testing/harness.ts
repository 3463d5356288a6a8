import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { createApi, type Api } from '../create-api';
import type { ApiDeps } from '../deps';

/** Test support: the API on an ephemeral loopback port, and clients that await conditions. */
export interface RunningApi {
  api: Api;
  server: Server;
  baseUrl: string;
  close(): Promise<void>;
}

export async function startApi(deps: ApiDeps): Promise<RunningApi> {
  const api = createApi(deps);
  const server = createServer(api.app);
  api.attach(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    api,
    server,
    baseUrl: `http://127.0.0.1:${port}`,
    async close() {
      await api.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Polls `condition` until it holds; fails with `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

export interface SseStream {
  status: number;
  events: SseEvent[];
  comments: string[];
  ended: boolean;
  close(): void;
}

/** A minimal EventSource: reads `text/event-stream` with fetch and parses events as they arrive. */
export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  const controller = new AbortController();
  const response = await fetch(url, {
    headers: { accept: 'text/event-stream', ...headers },
    signal: controller.signal,
  });
  const stream: SseStream = {
    status: response.status,
    events: [],
    comments: [],
    ended: false,
    close: () => controller.abort(),
  };
  if (response.body === null || !response.ok) {
    stream.ended = true;
    await response.body?.cancel();
    return stream;
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  void (async () => {
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event: SseEvent = { event: 'message', data: '' };
          const data: string[] = [];
          let hasField = false;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) stream.comments.push(line.slice(1).trim());
            else {
              const colon = line.indexOf(':');
              const field = colon < 0 ? line : line.slice(0, colon);
              const v = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
              if (field === 'id') event.id = v;
              else if (field === 'event') event.event = v;
              else if (field === 'data') data.push(v);
              else continue;
              hasField = true;
            }
          }
          if (hasField && data.length > 0) stream.events.push({ ...event, data: data.join('\n') });
        }
      }
    } catch {
      // aborted by close()
    } finally {
      stream.ended = true;
    }
  })();
  return stream;
}
