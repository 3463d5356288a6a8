import {
  ClickHouseHttpRequestError,
  exceptionText,
  readStatementRequest,
  sqlStringLiteral,
} from './http-interface';

const url = (query: string) => new URL(`http://127.0.0.1:8123/?${query}`);
const empty = Buffer.alloc(0);

describe("ClickHouse's HTTP interface, read into a chDB call", () => {
  it('runs the body as SQL in the URL database, with query parameters set as text and settings apart', () => {
    const params = new URLSearchParams({
      query_id: 'q1',
      database: 'stacklens',
      param_name: "it's a\\tb",
      param_ids: "['x','y\\'z']",
      max_execution_time: '10',
      user: 'default',
    });
    const statement = readStatementRequest(url(params.toString()), Buffer.from('SELECT {name:String}'));
    expect(statement).toEqual({
      prelude:
        "USE stacklens; SET param_name = 'it\\'s a\\\\tb'; SET param_ids = '[\\'x\\',\\'y\\\\\\'z\\']'; ",
      sql: 'SELECT {name:String}',
      data: undefined,
      settings: {
        max_execution_time: '10',
        default_format: 'TabSeparated',
        output_format_json_quote_64bit_integers: '1',
      },
      queryId: 'q1',
    });
  });

  it('takes the query parameter as the statement and the body as its data', () => {
    const rows = Buffer.from('{"a":1}\n');
    const statement = readStatementRequest(url('query=INSERT%20INTO%20t%20FORMAT%20JSONEachRow'), rows);
    expect(statement.sql).toBe('INSERT INTO t FORMAT JSONEachRow');
    expect(statement.data).toBe(rows);
    expect(statement.prelude).toBe('USE default; ');
    // A GET with only `query` (the client's ping with select) has no data.
    expect(readStatementRequest(url('query=SELECT%201'), empty).data).toBeUndefined();
  });

  it('keeps a format the client asked for', () => {
    expect(
      readStatementRequest(url('default_format=JSON'), Buffer.from('SELECT 1')).settings.default_format,
    ).toBe('JSON');
  });

  it.each([
    ['', empty, 'Empty query'],
    ['database=a-b', Buffer.from('SELECT 1'), 'Invalid database name "a-b"'],
    ['database=x%3B%20DROP', Buffer.from('SELECT 1'), 'Invalid database name'],
    ['param_a%3Bb=1', Buffer.from('SELECT 1'), 'Invalid query parameter name'],
    ['max%20threads=1', Buffer.from('SELECT 1'), 'Invalid setting name'],
    ['session_id=s1', Buffer.from('SELECT 1'), 'session_id is not supported'],
  ])('refuses %j with a 400 naming the problem', (query, body, message) => {
    let error: unknown;
    try {
      readStatementRequest(url(query), body);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ClickHouseHttpRequestError);
    expect((error as ClickHouseHttpRequestError).status).toBe(400);
    expect((error as Error).message).toContain(message);
  });

  it('quotes any text as one string literal', () => {
    expect(sqlStringLiteral("a'b\\c")).toBe("'a\\'b\\\\c'");
    expect(sqlStringLiteral("\\'; DROP TABLE t; --")).toBe("'\\\\\\'; DROP TABLE t; --'");
  });

  it("answers an engine error with the engine's text, anything else as ClickHouse's STD_EXCEPTION", () => {
    const engine = new Error('Code: 60. DB::Exception: Unknown table nope. (UNKNOWN_TABLE)');
    expect(exceptionText(new Error('wrapped', { cause: engine }))).toEqual({
      code: 60,
      text: 'Code: 60. DB::Exception: Unknown table nope. (UNKNOWN_TABLE)\n',
    });
    expect(exceptionText(new Error('disk full'))).toEqual({
      code: 1001,
      text: 'Code: 1001. DB::Exception: disk full (STD_EXCEPTION)\n',
    });
  });
});
