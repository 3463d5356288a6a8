import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { ClickHouseError, createClient, type ClickHouseClient } from '@clickhouse/client';
import { freePort, stopByPidFile } from '../../infra/process';
import { startClickHouseProcess } from '../../infra/services/clickhouse';
import { createClickHouse } from '../../sinks/clickhouse/client';

// The local stack's ClickHouse (chDB behind ClickHouse's HTTP interface, infra/clickhouse-server), started
// here as its own process on its own port and directory, and driven by the client StackLens uses for a
// production server. Every StackLens test through the pipeline harness also runs on the stack's one.
const dir = mkdtempSync(join(tmpdir(), 'stacklens-clickhouse-server-'));
const pidFile = join(dir, 'server.pid');
const logFile = join(dir, 'server.log');
const database = `it_server_${randomUUID().slice(0, 8)}`;
let url: string;
let client: ClickHouseClient;

async function start(): Promise<void> {
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  await startClickHouseProcess({
    host: '127.0.0.1',
    port,
    path: join(dir, 'data'),
    maxBodyMiB: 1,
    logFile,
    pidFile,
  });
  client = await createClickHouse({ url, database, chdbPath: '' });
}

const post = (query: string, body: string | Buffer, headers: Record<string, string> = {}) =>
  fetch(`${url}/?${query}`, { method: 'POST', body, headers });

/** `mib` MiB of spaces, one MiB at a time with a pause between: a client slower than the server. */
async function* slowBody(mib: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < mib; i++) {
    yield Buffer.alloc(1024 * 1024, 32);
    await delay(5);
  }
}

beforeAll(start);

afterAll(async () => {
  await client?.close();
  await stopByPidFile(pidFile);
  rmSync(dir, { recursive: true, force: true });
});

describe('the local ClickHouse server', () => {
  it('answers /ping as a server does', async () => {
    const response = await fetch(`${url}/ping`);
    expect(await response.text()).toBe('Ok.\n');
    expect(await client.ping()).toEqual({ success: true });
  });

  it('binds query parameters of every type from their text form, as a server parses them', async () => {
    const values = {
      text: "tab\there, quote ' and \\backslash, newline\n, é",
      list: ['x', "y'z", 'w\\v', 'q\tr'],
      map: { "k'1": 'v\t1' },
      count: 42,
      when: new Date(1_700_000_000_123),
      missing: null,
    };
    const result = await client.query({
      query: `SELECT {text:String} AS text, {list:Array(String)} AS list, {map:Map(String, String)} AS map,
                     {count:UInt32} AS count, toUnixTimestamp64Milli({when:DateTime64(3)}) AS when,
                     {missing:Nullable(String)} AS missing, currentDatabase() AS db`,
      query_params: values,
      format: 'JSONEachRow',
    });
    expect(await result.json()).toEqual([{ ...values, when: '1700000000123', db: database }]);
  });

  it("keeps each statement's settings to that statement, deduplication tokens included", async () => {
    await client.command({
      query: `CREATE TABLE t (k String) ENGINE = MergeTree ORDER BY k
              SETTINGS non_replicated_deduplication_window = 100`,
    });
    const insert = (k: string, token?: string) =>
      client.insert({
        table: 't',
        values: [{ k }],
        format: 'JSONEachRow',
        clickhouse_settings: token === undefined ? {} : { insert_deduplication_token: token },
      });
    await insert('a', 'token-1');
    await insert('b', 'token-1'); // same token: dropped as a retry of the first
    await insert('c'); // no token: a server would not carry the last one over, and neither may this
    const rows = await (
      await client.query({ query: 'SELECT k FROM t ORDER BY k', format: 'JSONEachRow' })
    ).json();
    expect(rows).toEqual([{ k: 'a' }, { k: 'c' }]);

    const threads = async (settings: { max_threads?: number }) =>
      (
        await (
          await client.query({
            query: "SELECT getSetting('max_threads') AS n",
            format: 'JSONEachRow',
            clickhouse_settings: settings,
          })
        ).json<{ n: number }>()
      )[0]!.n;
    const own = await threads({});
    expect(await threads({ max_threads: own + 1 })).toBe(own + 1);
    expect(await threads({})).toBe(own);
  });

  it("reports the engine's errors with their code and type, and goes on", async () => {
    const failure = await client.query({ query: 'SELECT * FROM no_such_table' }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ClickHouseError);
    expect(failure).toMatchObject({ code: '60', type: 'UNKNOWN_TABLE' });
    expect(await (await client.query({ query: 'SELECT 1 AS one', format: 'JSONEachRow' })).json()).toEqual([
      { one: 1 },
    ]);
  });

  it('takes a gzip-compressed insert, as the client sends with request compression on', async () => {
    const compressing = createClient({ url, database, compression: { request: true } });
    try {
      await compressing.command({ query: 'CREATE TABLE z (n UInt32) ENGINE = MergeTree ORDER BY n' });
      await compressing.insert({ table: 'z', values: [{ n: 1 }, { n: 2 }], format: 'JSONEachRow' });
      const rows = await (
        await compressing.query({ query: 'SELECT sum(n) AS s FROM z', format: 'JSONEachRow' })
      ).json();
      expect(rows).toEqual([{ s: '3' }]);
    } finally {
      await compressing.close();
    }
  });

  it('answers a bad request with a 4xx naming the problem, and goes on', async () => {
    const cases: [Promise<Response>, number, string][] = [
      [post('database=a-b', 'SELECT 1'), 400, 'Invalid database name "a-b"'],
      [post('', ''), 400, 'Empty query'],
      // Refused while the client is still sending (a slow client, 64 MiB paced over ~0.3 s): it
      // must still read its 413, not a reset connection.
      [
        fetch(`${url}/?query=INSERT%20INTO%20z%20FORMAT%20JSONEachRow`, {
          method: 'POST',
          // Node's fetch streams an async iterable body (with duplex: 'half'); the DOM types omit both.
          body: slowBody(64) as unknown as ReadableStream,
          duplex: 'half',
        } as RequestInit),
        413,
        'over 1048576 bytes',
      ],
      [post('', 'not gzip', { 'Content-Encoding': 'gzip' }), 400, 'Cannot read the request body'],
      [post('', gzipSync('SELECT 1'), { 'Content-Encoding': 'br' }), 415, 'Content-Encoding br'],
      [fetch(`${url}/play`), 404, 'no handler for /play'],
    ];
    for (const [response, status, message] of cases) {
      const answered = await response;
      expect({ status: answered.status, text: await answered.text() }).toEqual({
        status,
        text: expect.stringContaining(message) as unknown as string,
      });
    }
    expect(await (await fetch(`${url}/ping`)).text()).toBe('Ok.\n');
  });

  it('keeps its data across a stop and a start', async () => {
    await client.close();
    expect(await stopByPidFile(pidFile)).toBe(true);
    await start();
    const rows = await (
      await client.query({ query: 'SELECT k FROM t ORDER BY k', format: 'JSONEachRow' })
    ).json();
    expect(rows).toEqual([{ k: 'a' }, { k: 'c' }]);
  });
});
