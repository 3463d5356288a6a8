import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { deflateSync, gzipSync } from 'node:zlib';
import { readBody, type BodyLimits } from './body-reader';

/** A server answering with what readBody made of the request: `ok <bytes>` or the error's class and message. */
async function serve(limits: BodyLimits): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    readBody(req, limits).then(
      (body) => res.end(`ok ${body.length} ${body.subarray(0, 16).toString()}`),
      (error: Error) => {
        res.setHeader('connection', 'close');
        res.end(`${error.constructor.name} ${error.message}`);
      },
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

/** Sends `chunks` and resolves with the answer's body. */
function send(
  port: number,
  chunks: Buffer[],
  headers: Record<string, string | number> = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ port, host: '127.0.0.1', method: 'POST', path: '/', headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

/** Sends a request's head and the start of its body, never the rest; resolves with the raw answer once the server closes. */
function stall(port: number, head: string, partialBody: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = '';
    const socket = connect(port, '127.0.0.1', () => socket.write(`${head}\r\n\r\n${partialBody}`));
    socket.on('data', (c: Buffer) => (answer += c.toString()));
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
  });
}

describe('readBody', () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    ({ server, port } = await serve({ maxBytes: 1024, timeoutMs: 500 }));
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('reads plain and compressed bodies', async () => {
    expect(await send(port, [Buffer.from('hello')])).toBe('ok 5 hello');
    expect(await send(port, [gzipSync('hello gzip')], { 'content-encoding': 'gzip' })).toBe(
      'ok 10 hello gzip',
    );
    expect(await send(port, [deflateSync('hello deflate')], { 'content-encoding': 'deflate' })).toBe(
      'ok 13 hello deflate',
    );
  });

  it('refuses a body over the limit after decompression, or declared over it', async () => {
    expect(await send(port, [gzipSync(Buffer.alloc(1025))], { 'content-encoding': 'gzip' })).toMatch(
      /^PayloadTooLargeError .*1024 bytes after decompression \(INGEST_MAX_BODY_BYTES\)/,
    );
    expect(await send(port, [Buffer.alloc(1025)])).toMatch(/^PayloadTooLargeError/);
    // Declared too large: refused before a byte of the body is read (none is sent here).
    expect(await stall(port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10000', '')).toMatch(
      /\r\n\r\nPayloadTooLargeError/,
    );
  });

  it('refuses corrupt compressed data and unknown encodings', async () => {
    expect(await send(port, [Buffer.from('not gzip at all')], { 'content-encoding': 'gzip' })).toMatch(
      /^BadPayloadError body is not valid gzip data/,
    );
    expect(await send(port, [Buffer.from('x')], { 'content-encoding': 'zstd' })).toMatch(
      /^UnsupportedMediaTypeError .*"zstd"/,
    );
  });

  it('cuts off a body that does not arrive within the deadline', async () => {
    expect(await stall(port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100', '{"par')).toMatch(
      /\r\n\r\nBodyTimeoutError request body not received within 500 ms/,
    );
  });
});
