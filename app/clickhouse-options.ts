import type { StackLensConfig } from '../config/config';
import type { ClickHouseOptions } from '../sinks/clickhouse/client';

/**
 * The ClickHouse the configuration names (a server with CLICKHOUSE_URL, otherwise chDB at its path),
 * for every client the process opens: the sinks', the API's, a replay's, the benchmark's counts.
 */
export function clickHouseOptions(config: StackLensConfig): ClickHouseOptions {
  return {
    url: config.clickhouse.url,
    username: config.clickhouse.user,
    password: config.clickhouse.password,
    database: config.clickhouse.database,
    chdbPath: config.clickhouse.chdbPath,
  };
}
