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
 * - a second client on the SAME path in this process works and sees the same data, but the engine
 *   and its session state are shared, so create ONE client per process (the composition root) and
 *   pass it to every sink and query handler;
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
