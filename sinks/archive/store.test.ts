import { createServer, type Server, type Socket } from 'node:net';
import { within } from '../../test/support/wait-for';
import { S3ArchiveStore } from './store';

// An S3 endpoint that takes every request and never answers: what a stalled server looks like.
describe('S3ArchiveStore against a server that never answers', () => {
  let server: Server;
  const sockets: Socket[] = [];
  let port = 0;

  beforeAll(async () => {
    server = createServer((socket) => {
      sockets.push(socket);
      socket.resume();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('fails a put once its socket is idle for the timeout, instead of waiting for good', async () => {
    const store = new S3ArchiveStore({
      endpoint: `http://127.0.0.1:${port}`,
      bucket: 'archive',
      region: 'us-east-1',
      credentials: { accessKeyId: 'k', secretAccessKey: 's' },
      idleTimeoutMs: 200,
    });
    try {
      const put = store.put('logs/x.json.gz', Buffer.from('body'), {
        contentType: 'application/json',
        contentEncoding: 'gzip',
      });
      // The SDK's own retries (3 attempts) each end at the idle timeout; 20 s is far above them.
      await expect(within('the put', put, 20_000)).rejects.toThrow(/socket timed out after 200 ms/);
      expect(sockets.length).toBeGreaterThanOrEqual(1);
    } finally {
      store.close();
    }
  });
});
