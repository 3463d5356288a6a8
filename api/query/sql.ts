/**
 * Collects query parameters while a statement is assembled: every value becomes a `{pN:Type}` placeholder
 * bound server-side by ClickHouse, so no value is ever spliced into SQL text.
 */
export class SqlParams {
  readonly values: Record<string, string | number> = {};
  private next = 0;

  bind(type: 'String' | 'Int64' | 'UInt64' | 'UInt32' | 'UInt8', value: string | number | bigint): string {
    const name = `p${this.next++}`;
    this.values[name] = typeof value === 'bigint' ? value.toString() : value;
    return `{${name}:${type}}`;
  }
}

export interface BuiltQuery {
  query: string;
  params: Record<string, string | number>;
}

/**
 * Quotes a table name. Names come from configuration (validated as identifiers at start) and constants,
 * never from requests; the check is a second line of defence.
 */
export function table(database: string, name: string): string {
  for (const part of [database, name]) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(part)) throw new RangeError(`not a plain identifier: ${part}`);
  }
  return `\`${database}\`.\`${name}\``;
}

export function where(conditions: readonly string[]): string {
  return conditions.length === 0 ? '' : `WHERE ${conditions.join('\n  AND ')}`;
}
