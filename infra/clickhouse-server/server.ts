import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { Logger } from '../../common/logger';
import { openChdbConnection } from '../../sinks/clickhouse/chdb-connection';
import { ClickHouseHttpRequestError, exceptionText, readStatementRequest } from './http-interface';

type Session = ReturnType<typeof openChdbConnection>;

export interface ClickHouseServerOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** chDB's data directory; this process holds it while it runs. */
  path: string;
  /**
   * Engine sessions, each running one statement at a time: statements on different sessions run side
   * by side (a long query does not hold up the sinks' inserts), as a server's connections do.
   */
  sessions: number;
  /** The largest request body (an insert's rows), decompressed: larger ones get 413. */
  maxBodyBytes: number;
  log: Logger;
}

export interface RunningClickHouseServer {
  /** http://host:port, for CLICKHOUSE_URL. */
  url: string;
  close(): Promise<void>;
}

/**
 * chDB behind ClickHouse's HTTP interface, in its own process: the local stack's ClickHouse. StackLens
 * then reaches it as it reaches a production server (CLICKHOUSE_URL, @clickhouse/client over HTTP), and
 * the engine's memory and threads live outside the StackLens process. Binds to `host` (127.0.0.1 in
 * the stack) and checks no credentials.
 */
export async function startClickHouseServer(
  options: ClickHouseServerOptions,
): Promise<RunningClickHouseServer> {
  const sessions: { session: Session; running: number }[] = [];
  for (let i = 0; i < options.sessions; i++)
    sessions.push({ session: openChdbConnection(options.path), running: 0 });
  // The least busy session takes the next statement; each queues its own statements.
  const run = async <T>(call: (session: Session) => Promise<T>): Promise<T> => {
    const slot = sessions.reduce((least, s) => (s.running < least.running ? s : least));
    slot.running++;
    try {
      return await call(slot.session);
    } finally {
      slot.running--;
    }
  };

  const server = createServer(
    // Long URLs carry query parameters (a server accepts 1 MiB: http_max_uri_size).
    { maxHeaderSize: 1024 * 1024 },
    (req, res) => {
      handle(req, res, run, options).catch((err: unknown) => {
        options.log.error({ err }, 'request failed after its response started');
        res.destroy();
      });
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  options.log.info(
    { host: options.host, port, path: options.path, sessions: options.sessions },
    'ClickHouse HTTP interface on chDB listening',
  );
  return {
    url: `http://${options.host}:${port}`,
    async close() {
      await closeServer(server);
      for (const { session } of sessions) await session.close();
    },
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  run: <T>(call: (session: Session) => Promise<T>) => Promise<T>,
  options: ClickHouseServerOptions,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (
    url.pathname === '/ping' ||
    (url.pathname === '/' && req.method === 'GET' && !url.searchParams.has('query'))
  ) {
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=UTF-8' }).end('Ok.\n');
    return;
  }
  let queryId: string | undefined;
  try {
    if (url.pathname !== '/')
      throw new ClickHouseHttpRequestError(`There is no handler for ${url.pathname}`, 404);
    if (req.method !== 'POST' && req.method !== 'GET') {
      throw new ClickHouseHttpRequestError(`Method ${req.method ?? ''} is not allowed`, 405);
    }
    if ((req.headers['content-type'] ?? '').startsWith('multipart/')) {
      throw new ClickHouseHttpRequestError(
        'multipart requests are not supported by the local ClickHouse server',
        400,
      );
    }
    const statement = readStatementRequest(url, await readBody(req, options.maxBodyBytes));
    queryId = statement.queryId;
    const common = {
      query_id: statement.queryId,
      clickhouse_settings: statement.settings,
    };
    if (statement.data !== undefined) {
      const data = statement.data;
      const result = await run((session) =>
        session.insert({
          ...common,
          query: statement.prelude + statement.sql,
          values: Readable.from([data]),
        }),
      );
      res.writeHead(200, responseHeaders(result.query_id, result.summary)).end();
      return;
    }
    const result = await run((session) =>
      session.exec({ ...common, query: statement.prelude + statement.sql }),
    );
    res.writeHead(200, responseHeaders(result.query_id, result.summary));
    await pipeline(result.stream, res);
  } catch (err) {
    if (res.headersSent) throw err;
    if (err instanceof ClickHouseHttpRequestError) {
      res.writeHead(err.status, { 'Content-Type': 'text/plain; charset=UTF-8' }).end(`${err.message}\n`);
      return;
    }
    const { code, text } = exceptionText(err);
    res
      .writeHead(500, {
        'Content-Type': 'text/plain; charset=UTF-8',
        'X-ClickHouse-Exception-Code': String(code),
        ...(queryId === undefined ? {} : { 'X-ClickHouse-Query-Id': queryId }),
      })
      .end(text);
  }
}

function responseHeaders(queryId: string, summary: object | undefined): Record<string, string> {
  return {
    'Content-Type': 'text/plain; charset=UTF-8',
    'X-ClickHouse-Query-Id': queryId,
    ...(summary === undefined ? {} : { 'X-ClickHouse-Summary': JSON.stringify(summary) }),
  };
}

/** The body, gunzipped when the client compressed it, refused past `limit` bytes either way. */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding !== 'gzip' && encoding !== 'identity') {
    throw new ClickHouseHttpRequestError(`Content-Encoding ${encoding} is not supported (gzip is)`, 415);
  }
  const source: Readable = encoding === 'gzip' ? req.pipe(createGunzip()) : req;
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of source) {
      size += (chunk as Buffer).length;
      if (size > limit) {
        req.resume(); // drain the rest so the connection can answer
        throw new ClickHouseHttpRequestError(`The request body is over ${limit} bytes`, 413);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof ClickHouseHttpRequestError) throw err;
    throw new ClickHouseHttpRequestError(`Cannot read the request body: ${(err as Error).message}`, 400);
  }
  return Buffer.concat(chunks);
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((err) => (err === undefined ? resolve() : reject(err)));
    server.closeIdleConnections();
  });
}
