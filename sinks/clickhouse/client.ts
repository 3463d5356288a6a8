import { mkdirSync } from 'node:fs';
import { createClient, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client';
import { StackLensError } from '../../common/errors';
import { openChdbConnection } from './chdb-connection';

/** ClickHouse could not be reached, or the database could not be created. */
export class ClickHouseUnavailableError extends StackLensError {}

/** The chDB data directory is held by another process, or this process already opened another one. */
export class ChdbDataDirInUseError extends StackLensError {}

export interface ClickHouseOptions {
  /** http(s)://host:port of a ClickHouse server. Without it, the embedded chDB engine is used. */
  url?: string;
  username?: string;
  password?: string;
  /** Created if missing; every unqualified table name resolves to it. */
  database: string;
  /** chDB's data directory (the local stack uses `<dataDir>/chdb`); ignored when `url` is set. */
  chdbPath: string;
}

/**
 * Applied to every call on both backends so results look the same: 64-bit integers (counts, nanosecond
 * timestamps) as JSON strings, which chDB otherwise prints as numbers that JavaScript rounds.
 */
const COMMON_SETTINGS: ClickHouseSettings = { output_format_json_quote_64bit_integers: 1 };

/**
 * A @clickhouse/client for StackLens's database: a real server when `url` is given, otherwise chDB
 * plugged in as the client's connection. Same client API and same SQL either way.
 *
 * chDB is an in-process engine with one data directory per process (verified with chdb 3.4):
 * - a second client on the SAME path in this process works and sees the same data in its own engine
 *   session (own settings, own statement queue), so the composition root creates ONE such client for
 *   every sink, and the API opens its own with createQueryClickHouse;
 * - opening a DIFFERENT path while one is open throws; `close()` (which also waits for the engine to
 *   let go) must come first — tests that each use their own directory must close in afterAll;
 * - another PROCESS cannot open a directory in use ("Cannot lock file …/status"): the app and a test
 *   run, or two app instances, need different paths.
 */
export async function createClickHouse(options: ClickHouseOptions): Promise<ClickHouseClient> {
  return options.url !== undefined && options.url !== ''
    ? connectServer({ ...options, url: options.url })
    : openChdb(options);
}

export interface QueryClientOptions extends ClickHouseOptions {
  /** HTTP connections to a server (max_open_connections); at most the API's concurrent queries. */
  maxOpenConnections: number;
  /** Client-side bound on one request to a server, past the queries' own max_execution_time. */
  requestTimeoutMs: number;
}

/**
 * The API's own client for its read queries, so they never wait behind the pipeline's writes: on a
 * server, its own connection pool of `maxOpenConnections`; on chDB, its own engine session on the same
 * data directory, which runs beside the sinks' session (measured with chdb 3.4: a 9 ms insert on one
 * session finished while a 4 s SELECT ran on the other; on one session it waited 4.5 s). Tables are
 * named with their database in the API's SQL, so the database must exist only by the time of a query.
 * Throws ChdbDataDirInUseError when chDB cannot open the directory.
 */
export function createQueryClickHouse(options: QueryClientOptions): ClickHouseClient {
  if (options.url !== undefined && options.url !== '') {
    return createClient({
      url: options.url,
      username: options.username,
      password: options.password,
      database: options.database,
      clickhouse_settings: COMMON_SETTINGS,
      max_open_connections: options.maxOpenConnections,
      request_timeout: options.requestTimeoutMs,
    });
  }
  mkdirSync(options.chdbPath, { recursive: true });
  try {
    return createClient({
      connection: openChdbConnection(options.chdbPath),
      clickhouse_settings: COMMON_SETTINGS,
    });
  } catch (err) {
    throw new ChdbDataDirInUseError(
      `cannot open chDB at ${options.chdbPath} for API queries: another process uses it, or this process has another chDB directory open`,
      { cause: err },
    );
  }
}

async function connectServer(options: ClickHouseOptions & { url: string }): Promise<ClickHouseClient> {
  const base = {
    url: options.url,
    username: options.username,
    password: options.password,
    clickhouse_settings: COMMON_SETTINGS,
  };
  // The database may not exist yet, and a client bound to a missing database fails every call:
  // create it through a client on the default database first.
  const bootstrap = createClient(base);
  try {
    await createDatabase(bootstrap, options.database);
  } catch (err) {
    throw new ClickHouseUnavailableError(
      `ClickHouse at ${redactUrl(options.url)}: cannot create database "${options.database}"`,
      {
        cause: err,
      },
    );
  } finally {
    await bootstrap.close();
  }
  return createClient({ ...base, database: options.database });
}

async function openChdb(options: ClickHouseOptions): Promise<ClickHouseClient> {
  mkdirSync(options.chdbPath, { recursive: true });
  let connection: ReturnType<typeof openChdbConnection>;
  try {
    connection = openChdbConnection(options.chdbPath);
  } catch (err) {
    throw new ChdbDataDirInUseError(
      `cannot open chDB at ${options.chdbPath}: another process uses it, or this process has another chDB directory open`,
      { cause: err },
    );
  }
  const client = createClient({ connection, clickhouse_settings: COMMON_SETTINGS });
  try {
    await createDatabase(client, options.database);
    // The client's `database` option is an HTTP parameter that a custom connection never sees; on
    // chDB, USE is what makes unqualified names resolve to our database (it lasts for the session).
    await client.command({ query: 'USE {db:Identifier}', query_params: { db: options.database } });
  } catch (err) {
    await client.close();
    throw new ClickHouseUnavailableError(
      `chDB at ${options.chdbPath}: cannot create database "${options.database}"`,
      { cause: err },
    );
  }
  return client;
}

function createDatabase(client: ClickHouseClient, database: string): Promise<unknown> {
  return client.command({
    query: 'CREATE DATABASE IF NOT EXISTS {db:Identifier}',
    query_params: { db: database },
  });
}

/** A URL may carry credentials (http://user:pass@host); they never go into an error message. */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return '<invalid url>';
  }
}
