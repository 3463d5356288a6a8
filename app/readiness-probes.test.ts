import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProbeResult } from '../api/deps';
import { loadConfig } from '../config/config';
import { archiveProbe, pipelineProbe, schemaRegistryProbe, singleFlight } from './readiness-probes';

describe('singleFlight', () => {
  it('shares the check in flight between concurrent callers, and starts a new one after it settled', async () => {
    let started = 0;
    let finish: (r: ProbeResult) => void = () => undefined;
    const probe = singleFlight(() => {
      started++;
      return new Promise<ProbeResult>((resolve) => (finish = resolve));
    });
    const first = probe();
    const second = probe();
    expect(started).toBe(1);
    finish({ ok: true });
    await expect(Promise.all([first, second])).resolves.toEqual([{ ok: true }, { ok: true }]);
    const third = probe();
    expect(started).toBe(2);
    finish({ ok: false, error: 'down' });
    await expect(third).resolves.toEqual({ ok: false, error: 'down' });
  });
});

describe('pipelineProbe', () => {
  it("reports the pipeline's problem as it changes", async () => {
    let problem: string | undefined = 'the streams consumer group has no partitions assigned';
    const probe = pipelineProbe(() => problem);
    await expect(probe()).resolves.toEqual({ ok: false, error: problem });
    problem = undefined;
    await expect(probe()).resolves.toEqual({ ok: true });
  });
});

describe('schemaRegistryProbe', () => {
  let server: Server;
  let status = 200;
  const seen: { url?: string; headers: IncomingHttpHeaders }[] = [];
  let base: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ url: req.url, headers: req.headers });
      res.writeHead(status, { 'content-type': 'application/json' }).end('[]');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('lists subjects under the ccompat base URL, sending URL credentials as a Basic header', async () => {
    const probe = schemaRegistryProbe(`http://reader:s%40cret@${base}/apis/ccompat/v7/`, 1_000);
    await expect(probe()).resolves.toEqual({ ok: true });
    expect(seen.at(-1)?.url).toBe('/apis/ccompat/v7/subjects');
    expect(seen.at(-1)?.headers.authorization).toBe(
      `Basic ${Buffer.from('reader:s@cret').toString('base64')}`,
    );
  });

  it('reports the status of an error answer, without the credentials', async () => {
    status = 401;
    try {
      const result = await schemaRegistryProbe(`http://reader:secret@${base}/apis/ccompat/v7`, 1_000)();
      expect(result).toEqual({ ok: false, error: 'GET /subjects answered 401' });
    } finally {
      status = 200;
    }
  });
});

describe('archiveProbe on a directory', () => {
  const root = mkdtempSync(join(tmpdir(), 'stacklens-probe-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const archiveAt = (dir: string) =>
    archiveProbe(loadConfig({ ARCHIVE_DIR: dir, LOG_LEVEL: 'silent' }, root).archive, 1_000);

  it('is ready on a fresh install: creates the directory the store would create on its first write', async () => {
    const dir = join(root, 'archive', 'nested');
    const { probe, close } = archiveAt(dir);
    await expect(probe()).resolves.toEqual({ ok: true });
    expect(existsSync(dir)).toBe(true);
    close();
  });

  it('fails when the directory cannot be created', async () => {
    writeFileSync(join(root, 'a-file'), '');
    const { probe, close } = archiveAt(join(root, 'a-file', 'archive'));
    await expect(probe()).rejects.toThrow(/ENOTDIR|EEXIST/);
    close();
  });
});
