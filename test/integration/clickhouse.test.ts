import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { ChdbDataDirInUseError, createClickHouse } from '../../sinks/clickhouse/client';

// @clickhouse/client on the embedded chDB engine: the backend the app uses when CLICKHOUSE_URL is
// unset, exercised with the column types and insert settings the sinks depend on.
describe('ClickHouse client on chDB', () => {
  // chDB allows one data directory per process, so this file opens one and closes it in afterAll.
  const dir = mkdtempSync(join(tmpdir(), 'stacklens-chdb-'));
  let ch: ClickHouseClient;

  beforeAll(async () => {
    ch = await createClickHouse({ database: 'stacklens_test', chdbPath: dir });
  });

  afterAll(async () => {
    await ch.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function rows<T>(query: string, query_params: Record<string, unknown> = {}): Promise<T[]> {
    return (await ch.query({ query, query_params, format: 'JSONEachRow' })).json<T>();
  }

  it('creates the database and resolves unqualified names to it', async () => {
    expect(await rows<{ db: string }>('SELECT currentDatabase() AS db')).toEqual([{ db: 'stacklens_test' }]);
    await ch.command({
      query: 'CREATE TABLE IF NOT EXISTS resolved (x UInt8) ENGINE = MergeTree ORDER BY x',
    });
    expect(
      await rows('SELECT database FROM system.tables WHERE name = {t:String}', { t: 'resolved' }),
    ).toEqual([{ database: 'stacklens_test' }]);
  });

  it('runs merges at a lower priority than inserts and queries (the engine starts with nice 10 for them)', async () => {
    expect(
      await rows('SELECT value FROM system.server_settings WHERE name = {name:String}', {
        name: 'os_threads_nice_value_merge_mutate',
      }),
    ).toEqual([{ value: '10' }]);
  });

  it('round-trips DateTime64(9), Map(LowCardinality(String), String) and LowCardinality through JSONEachRow', async () => {
    await ch.command({
      query: `CREATE TABLE events (
        Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
        ServiceName LowCardinality(String),
        SeverityNumber UInt8,
        Attributes Map(LowCardinality(String), String),
        Body String
      ) ENGINE = MergeTree PARTITION BY toDate(Timestamp) ORDER BY (ServiceName, Timestamp)`,
    });
    await ch.insert({
      table: 'events',
      format: 'JSONEachRow',
      values: [
        {
          Timestamp: '2026-11-22 08:00:00.123456789',
          ServiceName: 'checkout',
          SeverityNumber: 17,
          Attributes: { 'http.route': '/pay', user: 'ü' },
          Body: 'payment failed',
        },
        {
          Timestamp: '2026-11-22 08:00:01.000000001',
          ServiceName: 'checkout',
          SeverityNumber: 9,
          Attributes: {},
          Body: 'retrying',
        },
        {
          Timestamp: '2026-11-22 08:00:02.5',
          ServiceName: 'cart',
          SeverityNumber: 9,
          Attributes: { 'http.route': '/cart' },
          Body: 'ok',
        },
      ],
    });

    const found = await rows<{
      Timestamp: string;
      nanos: string;
      route: string;
      Attributes: Record<string, string>;
      Body: string;
    }>(
      `SELECT Timestamp, toUnixTimestamp64Nano(Timestamp) AS nanos, Attributes['http.route'] AS route, Attributes, Body
       FROM events
       WHERE ServiceName = {service:String} AND SeverityNumber >= {minSeverity:UInt8} AND Timestamp >= {since:DateTime64(9)}
       ORDER BY Timestamp`,
      { service: 'checkout', minSeverity: 17, since: '2026-11-22 08:00:00.000000000' },
    );

    expect(found).toEqual([
      {
        Timestamp: '2026-11-22 08:00:00.123456789',
        // A quoted 64-bit integer: exact to the nanosecond, where a JSON number would be rounded.
        nanos: '1795334400123456789',
        route: '/pay',
        Attributes: { 'http.route': '/pay', user: 'ü' },
        Body: 'payment failed',
      },
    ]);
    const types = await rows<{ name: string; type: string }>(
      'SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = {t:String} ORDER BY position',
      {
        t: 'events',
      },
    );
    expect(types.map((c) => c.type)).toEqual([
      'DateTime64(9)',
      'LowCardinality(String)',
      'UInt8',
      'Map(LowCardinality(String), String)',
      'String',
    ]);
  });

  it('binds parameters as values, never as SQL', async () => {
    const hostile = "x' OR 1=1 --";
    expect(
      await rows<{ n: string }>('SELECT count() AS n FROM events WHERE ServiceName = {service:String}', {
        service: hostile,
      }),
    ).toEqual([{ n: '0' }]);
  });

  describe('insert_deduplication_token with non_replicated_deduplication_window', () => {
    beforeAll(async () => {
      await ch.command({
        query: `CREATE TABLE dedup (id UInt32, payload String) ENGINE = MergeTree ORDER BY id
                SETTINGS non_replicated_deduplication_window = 1000`,
      });
    });

    const count = async () => (await rows<{ n: string }>('SELECT count() AS n FROM dedup'))[0]!.n;

    it('drops a repeated insert that carries the same token', async () => {
      const batch = [
        { id: 1, payload: 'a' },
        { id: 2, payload: 'b' },
      ];
      const token = 'otel-logs/0/100-101';
      await ch.insert({
        table: 'dedup',
        format: 'JSONEachRow',
        values: batch,
        clickhouse_settings: { insert_deduplication_token: token },
      });
      await ch.insert({
        table: 'dedup',
        format: 'JSONEachRow',
        values: batch,
        clickhouse_settings: { insert_deduplication_token: token },
      });

      expect(await count()).toBe('2');
    });

    it('keeps an insert with a different token, even with identical rows', async () => {
      await ch.insert({
        table: 'dedup',
        format: 'JSONEachRow',
        values: [{ id: 1, payload: 'a' }],
        clickhouse_settings: { insert_deduplication_token: 'otel-logs/0/102-102' },
      });

      expect(await count()).toBe('3');
    });

    // chdb/connection SETs call settings on the engine session; without CallScopedSettingsConnection
    // this insert would inherit the previous call's token and be dropped as a duplicate.
    it('does not carry a token over to a later insert that sets none', async () => {
      await ch.insert({ table: 'dedup', format: 'JSONEachRow', values: [{ id: 3, payload: 'c' }] });

      expect(await count()).toBe('4');
      expect(await rows("SELECT getSetting('insert_deduplication_token') AS token")).toEqual([{ token: '' }]);
    });
  });

  it('refuses a second chDB directory while this one is open', async () => {
    const other = mkdtempSync(join(tmpdir(), 'stacklens-chdb-other-'));
    try {
      await expect(createClickHouse({ database: 'other', chdbPath: other })).rejects.toBeInstanceOf(
        ChdbDataDirInUseError,
      );
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});
