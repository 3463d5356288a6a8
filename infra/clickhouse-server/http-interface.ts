import { StackLensError } from '../../common/errors';

/**
 * The part of ClickHouse's HTTP interface (https://clickhouse.com/docs/interfaces/http) that
 * @clickhouse/client speaks, read into what chDB must run. Pure: no I/O, so it is unit-tested alone.
 */

/** A request the server refuses before running anything; `status` is the 4xx to answer with. */
export class ClickHouseHttpRequestError extends StackLensError {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** One statement to run, as the URL and body of a POST (or a GET with `query`) describe it. */
export interface StatementRequest {
  /** SQL to run before the statement in the same engine call: USE and the query parameters. */
  prelude: string;
  /** The statement. For an INSERT whose rows are the body, only the `INSERT … FORMAT …` part. */
  sql: string;
  /** The body when it follows the `query` parameter (an INSERT's rows): read after `sql` and a newline. */
  data: Buffer | undefined;
  /** Settings given as URL parameters, for this statement only (as on a server). */
  settings: Record<string, string>;
  queryId: string | undefined;
}

/** URL parameters that are not settings; `user`/`password` are accepted and not checked (loopback only). */
const NON_SETTINGS = new Set(['query', 'query_id', 'database', 'session_id', 'role', 'user', 'password']);
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Reads one request's URL and body the way a ClickHouse server does: the SQL is
 * the `query` parameter followed by the body, or the body alone; `param_<name>` are query parameters
 * in their text form; `database` is the current database; every other parameter is a setting.
 */
export function readStatementRequest(url: URL, body: Buffer): StatementRequest {
  const query = url.searchParams.get('query');
  if (query === null && body.length === 0) {
    throw new ClickHouseHttpRequestError(
      'Empty query: send the SQL as the body or the "query" parameter',
      400,
    );
  }
  if (url.searchParams.getAll('session_id').some((id) => id !== '')) {
    throw new ClickHouseHttpRequestError('session_id is not supported by the local ClickHouse server', 400);
  }
  const database = url.searchParams.get('database') ?? 'default';
  if (!IDENTIFIER.test(database)) {
    throw new ClickHouseHttpRequestError(`Invalid database name ${JSON.stringify(database)}`, 400);
  }
  const settings: Record<string, string> = {};
  const statements = [`USE ${database}`];
  for (const [name, value] of url.searchParams) {
    if (name.startsWith('param_')) {
      const param = name.slice('param_'.length);
      if (!IDENTIFIER.test(param)) {
        throw new ClickHouseHttpRequestError(`Invalid query parameter name ${JSON.stringify(name)}`, 400);
      }
      // The engine parses the text as the placeholder's type, exactly as a server parses the URL's value.
      statements.push(`SET ${name} = ${sqlStringLiteral(value)}`);
    } else if (!NON_SETTINGS.has(name)) {
      if (!IDENTIFIER.test(name)) {
        throw new ClickHouseHttpRequestError(`Invalid setting name ${JSON.stringify(name)}`, 400);
      }
      settings[name] = value;
    }
  }
  // A server's defaults where chDB's differ: a statement without FORMAT answers in TabSeparated (chDB:
  // CSV), and 64-bit integers are quoted in JSON formats (chDB prints numbers that JavaScript rounds).
  settings.default_format ??= 'TabSeparated';
  settings.output_format_json_quote_64bit_integers ??= '1';
  return {
    prelude: `${statements.join('; ')}; `,
    sql: query ?? body.toString('utf8'),
    data: query !== null && body.length > 0 ? body : undefined,
    settings,
    queryId: url.searchParams.get('query_id') ?? undefined,
  };
}

/** A ClickHouse string literal holding `text` exactly (backslash and quote escaped). */
export function sqlStringLiteral(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** What a failed statement answers: the server's exception text, which clients parse for code and type. */
export function exceptionText(err: unknown): { code: number; text: string } {
  const engineText = engineMessage(err);
  const match = engineText === undefined ? null : /^Code: (\d+)\./.exec(engineText);
  if (engineText !== undefined && match !== null) return { code: Number(match[1]), text: `${engineText}\n` };
  const message = err instanceof Error ? err.message : String(err);
  // Code 1001 is ClickHouse's STD_EXCEPTION: an error outside the engine's own codes.
  return { code: 1001, text: `Code: 1001. DB::Exception: ${message} (STD_EXCEPTION)\n` };
}

/** chDB's own "Code: N. DB::Exception: … (TYPE)" text, kept by chdb/connection as the error's cause. */
function engineMessage(err: unknown): string | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (/^Code: \d+\./.test(e.message)) return e.message;
  }
  return undefined;
}
