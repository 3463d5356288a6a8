/**
 * Test support: turns a Grafana panel's SQL into what grafana-clickhouse-datasource sends to
 * ClickHouse, so the dashboards' tests run the very statements Grafana would.
 *
 * Two steps, as in Grafana: the frontend first replaces dashboard variables (`${name}`, `$name`,
 * `[[name]]`), then the plugin's backend expands its `$__` macros (pkg/macros/macros.go of
 * grafana/clickhouse-datasource 4.20: times as `toDateTime(<unix seconds>)` or
 * `fromUnixTimestamp64Milli(<ms>)`, intervals as whole seconds, at least 1). A macro this file does
 * not know is an error rather than text left in the SQL, so a dashboard cannot use one untested.
 */

export interface PanelQueryContext {
  fromMs: number;
  toMs: number;
  /** The panel's interval (Grafana derives it from the range and the panel's width). */
  intervalMs: number;
}

export class UnsupportedMacroError extends Error {}

const dateTime = (ms: number) => `toDateTime(${Math.floor(ms / 1000)})`;
const dateTime64 = (ms: number) => `fromUnixTimestamp64Milli(${Math.floor(ms)})`;
const date = (ms: number) => `toDate('${new Date(ms).toISOString().slice(0, 10)}')`;
const intervalSeconds = (ctx: PanelQueryContext) => Math.trunc(Math.max(ctx.intervalMs / 1000, 1));

type Macro = (ctx: PanelQueryContext, args: string[]) => string;

function oneArg(name: string, expand: (ctx: PanelQueryContext, column: string) => string): Macro {
  return (ctx, args) => {
    if (args.length !== 1)
      throw new UnsupportedMacroError(`$__${name} expects 1 argument, got ${args.length}`);
    return expand(ctx, args[0]!);
  };
}

const MACROS: Record<string, Macro> = {
  timeFilter: oneArg(
    'timeFilter',
    (c, col) => `${col} >= ${dateTime(c.fromMs)} AND ${col} <= ${dateTime(c.toMs)}`,
  ),
  timeFilter_ms: oneArg(
    'timeFilter_ms',
    (c, col) => `${col} >= ${dateTime64(c.fromMs)} AND ${col} <= ${dateTime64(c.toMs)}`,
  ),
  dateFilter: oneArg('dateFilter', (c, col) => `${col} >= ${date(c.fromMs)} AND ${col} <= ${date(c.toMs)}`),
  timeFrom: oneArg('timeFrom', (c, col) => `${col} >= ${dateTime(c.fromMs)}`),
  timeTo: oneArg('timeTo', (c, col) => `${col} <= ${dateTime(c.toMs)}`),
  fromTime: (c) => dateTime(c.fromMs),
  toTime: (c) => dateTime(c.toMs),
  fromTime_ms: (c) => dateTime64(c.fromMs),
  toTime_ms: (c) => dateTime64(c.toMs),
  timeInterval: oneArg(
    'timeInterval',
    (c, col) => `toStartOfInterval(toDateTime(${col}), INTERVAL ${intervalSeconds(c)} second)`,
  ),
  timeInterval_ms: oneArg(
    'timeInterval_ms',
    (c, col) =>
      `toStartOfInterval(toDateTime64(${col}, 3), INTERVAL ${Math.trunc(Math.max(c.intervalMs, 1))} millisecond)`,
  ),
  interval_s: (c) => String(intervalSeconds(c)),
};

/** Splits a macro's argument list at top-level commas (parentheses and quotes nest). */
function splitArgs(text: string): string[] {
  const args: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let current = '';
  for (const ch of text) {
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
    } else if (ch === "'" || ch === '"' || ch === '`') quote = ch;
    else if (ch === '(') depth += 1;
    else if (ch === ')') depth -= 1;
    else if (ch === ',' && depth === 0) {
      args.push(current.trim());
      current = '';
      continue;
    }
    current += ch;
  }
  if (current.trim() !== '' || args.length > 0) args.push(current.trim());
  return args;
}

/** Expands every `$__name` and `$__name(args)` the plugin knows; throws on any other. */
export function expandMacros(sql: string, ctx: PanelQueryContext): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const at = sql.indexOf('$__', i);
    if (at < 0) break;
    out += sql.slice(i, at);
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(at + 3))?.[0] ?? '';
    const macro = MACROS[name];
    if (macro === undefined) throw new UnsupportedMacroError(`unknown macro $__${name}`);
    let end = at + 3 + name.length;
    let args: string[] = [];
    if (sql[end] === '(') {
      let depth = 0;
      let close = end;
      for (; close < sql.length; close += 1) {
        if (sql[close] === '(') depth += 1;
        else if (sql[close] === ')' && --depth === 0) break;
      }
      if (close >= sql.length) throw new UnsupportedMacroError(`unclosed $__${name}(`);
      args = splitArgs(sql.slice(end + 1, close));
      end = close + 1;
    }
    out += macro(ctx, args);
    i = end;
  }
  return out + sql.slice(i);
}

/** Grafana's replacement of single-valued dashboard variables; an undefined variable is an error. */
export function interpolateVariables(sql: string, variables: Readonly<Record<string, string>>): string {
  return sql.replace(
    /\$\{([A-Za-z0-9_]+)(?::[A-Za-z]+)?\}|\[\[([A-Za-z0-9_]+)\]\]|\$(?!__)([A-Za-z0-9_]+)/g,
    (match, braced?: string, bracketed?: string, bare?: string) => {
      const name = braced ?? bracketed ?? bare ?? '';
      const value = variables[name];
      if (value === undefined) throw new UnsupportedMacroError(`undefined dashboard variable ${match}`);
      return value;
    },
  );
}
