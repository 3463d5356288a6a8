import type { Readable } from 'node:stream';
import type { createClient } from '@clickhouse/client';
import type * as ChdbEngine from 'chdb';
import type * as ChdbConnections from 'chdb/connection';

/** The connection contract of the installed @clickhouse/client (`createClient({ connection })`). */
type ClientConnection = NonNullable<NonNullable<Parameters<typeof createClient>[0]>['connection']>;
type ConnQueryParams = Parameters<ClientConnection['query']>[0];
type ConnExecParams = Parameters<ClientConnection['exec']>[0];
type ConnInsertParams = Parameters<ClientConnection['insert']>[0];
type ConnCommandParams = Parameters<ClientConnection['command']>[0];
type ConnPingParams = Parameters<ClientConnection['ping']>[0];

/**
 * How the engine runs, given when it starts (the first session of the process; later sessions'
 * arguments are ignored, verified with chdb 3.4).
 *
 * Merges run at nice 10: they are background work, and on a busy host they otherwise take the CPU
 * from the inserts a commit waits for. Measured on the 2-core bench host: commit flushes took 13–19 ms
 * once the throughput phase's merges were done and 100–170 ms while they ran (README, Performance).
 */
const ENGINE_ARGS = ['--os_threads_nice_value_merge_mutate=10'];

/**
 * chDB's library maps ~150 MiB into the process as it loads (measured: 39 → 191 MiB RSS on
 * `require('chdb')`), so it is loaded on first use: a deployment with CLICKHOUSE_URL never pays it.
 */
function chdb(): { engine: typeof ChdbEngine; connections: typeof ChdbConnections } {
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded on first use, see above */
  return {
    engine: require('chdb') as typeof ChdbEngine,
    connections: require('chdb/connection') as typeof ChdbConnections,
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
}

/**
 * Opens chDB's data directory as a connection for @clickhouse/client, with call-scoped settings: one
 * engine session, which runs one statement at a time. A process may open several on the SAME path (the
 * sinks' and the API's), and those run side by side. Throws synchronously when the directory is locked
 * by another process or another directory is open.
 */
export function openChdbConnection(path: string): ClientConnection {
  const { engine, connections } = chdb();
  // chdb/connection does not pass engine arguments through, so a plain session starts the engine
  // with them (or joins the running one) first; the connection's own session then joins it.
  const starter = new engine.Session(path, { connectionArgs: ENGINE_ARGS });
  try {
    // chdb declares the contract with its own copy of @clickhouse/client-common (1.23.0), while
    // @clickhouse/client 1.23.1 vendors a newer copy whose settings list differs; the methods are the
    // same, which is what chdb's own compatibility suite checks. Hence the one cast.
    const connection = connections.createChdbConnection({ path }) as unknown as ClientConnection;
    return new CallScopedSettingsConnection(connection, engine.drainPending);
  } finally {
    starter.close();
  }
}

/**
 * Keeps each call's `clickhouse_settings` to that call on chDB, as a ClickHouse server does.
 *
 * chdb/connection applies a call's `clickhouse_settings` by prefixing `SET k = v;` to its SQL, and a
 * SET lasts for the rest of the engine session. Verified with chdb 3.4 / engine 26.7: after one
 * insert with `insert_deduplication_token: 'a'`, every later insert without a token still carried
 * 'a' and was silently dropped as a duplicate. So before each call this connection resets
 * (`SET k = DEFAULT`) every setting an earlier call changed and this call does not set itself.
 *
 * Calls are run one at a time: the reset list must reflect what the previous call left, and chDB
 * runs one statement at a time per session anyway (40 concurrent queries, each with its own
 * max_block_size, each saw its own value), so queueing here costs no throughput. Settings are per
 * session: measured with chdb 3.4, a SET on one session is not seen by another on the same path.
 *
 * A call's `abort_signal` is honoured before the call starts: a call whose caller has given up while it
 * waited here is never run. It is not passed to chDB, which would reject at once but keep computing
 * (its README: "native runs to completion"), letting the next call queue behind an invisible one; a
 * started call runs to completion, bounded by its max_execution_time, and the caller drops the result.
 */
class CallScopedSettingsConnection implements ClientConnection {
  private readonly changed = new Set<string>();
  private engineSettings: Promise<ReadonlySet<string>> | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly inner: ClientConnection,
    private readonly drainPending: () => Promise<void>,
  ) {}

  query(params: ConnQueryParams): ReturnType<ClientConnection['query']> {
    return this.serialized(async () => this.inner.query(await this.scoped(params)));
  }

  exec(params: ConnExecParams): ReturnType<ClientConnection['exec']> {
    return this.serialized(async () => this.inner.exec(await this.scoped(params)));
  }

  command(params: ConnCommandParams): ReturnType<ClientConnection['command']> {
    return this.serialized(async () => this.inner.command(await this.scoped(params)));
  }

  insert(params: ConnInsertParams): ReturnType<ClientConnection['insert']> {
    return this.serialized(async () => this.inner.insert(await this.scoped(params)));
  }

  ping(params: ConnPingParams): ReturnType<ClientConnection['ping']> {
    return this.serialized(() => this.inner.ping(params));
  }

  /** Also waits until the engine has really let go of the data directory, so it can be reopened. */
  close(): Promise<void> {
    return this.serialized(async () => {
      await this.inner.close();
      await this.drainPending();
    });
  }

  private serialized<T>(run: () => Promise<T>): Promise<T> {
    const result = this.queue.then(run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async scoped<P extends ConnQueryParams>(params: P): Promise<P> {
    params.abort_signal?.throwIfAborted();
    const own = Object.entries(params.clickhouse_settings ?? {})
      .filter(([, value]) => value !== undefined)
      .map(([name]) => name);
    const stale = [...this.changed].filter((name) => !own.includes(name));
    // Only engine settings: chdb/connection drops HTTP-only ones (wait_end_of_query, …) instead of
    // SETting them, and `SET wait_end_of_query = DEFAULT` would fail as an unknown setting.
    const known = await this.knownSettings();
    for (const name of own) if (known.has(name)) this.changed.add(name);
    if (stale.length === 0) return { ...params, abort_signal: undefined };
    for (const name of stale) this.changed.delete(name);
    return {
      ...params,
      abort_signal: undefined,
      query: `${stale.map((name) => `SET ${name} = DEFAULT`).join('; ')}; ${params.query}`,
    };
  }

  private knownSettings(): Promise<ReadonlySet<string>> {
    this.engineSettings ??= this.inner
      .query({ query: 'SELECT name FROM system.settings FORMAT TabSeparated' })
      .then(async (result) => {
        let text = '';
        for await (const chunk of result.stream as Readable)
          text += Buffer.from(chunk as Uint8Array).toString('utf8');
        return new Set(text.split('\n').filter((line) => line !== ''));
      })
      .catch((err: unknown) => {
        this.engineSettings = undefined; // ask again on the next call rather than fail forever
        throw err;
      });
    return this.engineSettings;
  }
}
