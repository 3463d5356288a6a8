import { liveUrl, type Params } from './api';

export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'closed';

interface DataMessage<T> {
  type: string;
  id: string;
  data: T;
}

/** Longest pause between reconnection attempts. */
const MAX_BACKOFF_MS = 10_000;

/**
 * A live stream over `/ws/*` that reconnects with backoff after the server drops it (restart, slow
 * consumer notice). A WebSocket resumes at the live tail: what was sent while it was away is the
 * history's job (the pages reload it on reconnect through `onOpen`).
 */
export function openLive<T>(
  path: string,
  params: Params,
  handlers: {
    onData: (data: T, id: string) => void;
    onStatus: (status: LiveStatus, detail?: string) => void;
    onOpen?: () => void;
  },
): () => void {
  let socket: WebSocket | undefined;
  let stopped = false;
  let attempt = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const connect = () => {
    handlers.onStatus(attempt === 0 ? 'connecting' : 'reconnecting');
    const ws = new WebSocket(liveUrl(path, params));
    socket = ws;
    ws.onopen = () => {
      attempt = 0;
      handlers.onStatus('live');
      handlers.onOpen?.();
    };
    ws.onmessage = (event: MessageEvent<string>) => {
      let message: DataMessage<T> | { type: 'notice'; code: string; message: string };
      try {
        message = JSON.parse(event.data) as typeof message;
      } catch {
        return; // not ours
      }
      if (message.type === 'notice')
        handlers.onStatus('reconnecting', (message as { message: string }).message);
      else handlers.onData((message as DataMessage<T>).data, (message as DataMessage<T>).id);
    };
    ws.onclose = () => {
      if (stopped) return;
      attempt++;
      handlers.onStatus('reconnecting');
      timer = setTimeout(connect, Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(attempt, 5)));
    };
  };
  connect();
  return () => {
    stopped = true;
    clearTimeout(timer);
    socket?.close();
    handlers.onStatus('closed');
  };
}
