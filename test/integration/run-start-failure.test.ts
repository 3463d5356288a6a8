import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { clickHouseOptions } from '../../app/clickhouse-options';
import { runStackLens } from '../../app/run';
import { createLogger } from '../../common/logger';
import { loadConfig } from '../../config/config';
import { withLocalStackDefaults } from '../../infra/local-stack-env';
import { stackSettingsFromEnv } from '../../infra/stack-settings';
import { createClickHouse } from '../../sinks/clickhouse/client';

/**
 * `stacklens run` whose API cannot listen (its port is taken) fails with the reason, and stops the
 * pipeline it had started: no member of the run's groups stays behind (a pipeline running on without
 * its API, or an archive thread keeping an embedding process alive).
 */
describe('a run whose API cannot start', () => {
  const appId = `it-runfail-${randomUUID().slice(0, 8)}`;
  const config = loadConfig(
    withLocalStackDefaults(
      {
        TOPIC_PREFIX: `${appId}-`,
        APPLICATION_ID: appId,
        CLICKHOUSE_DATABASE: `it_${appId.replace(/-/g, '_')}`,
        HTTP_HOST: '127.0.0.1',
        LOG_LEVEL: 'error',
      },
      stackSettingsFromEnv(),
    ),
  );
  const kafka = new Kafka({
    clientId: `${appId}-test`,
    brokers: config.kafka.brokers,
    logLevel: logLevel.NOTHING,
  });
  let admin: Admin;
  let taken: Server;

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    await new Promise((resolve) => taken.close(resolve));
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(appId));
    if (groups.length > 0) await admin.deleteGroups(groups);
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(appId));
    if (topics.length > 0) await admin.deleteTopics({ topics });
    await admin.disconnect();
    const clickhouse = await createClickHouse({ ...clickHouseOptions(config), database: 'default' });
    await clickhouse.command({
      query: 'DROP DATABASE IF EXISTS {db:Identifier}',
      query_params: { db: config.clickhouse.database },
    });
    await clickhouse.close();
  }, 60_000);

  it('rejects with the taken port and leaves none of the run’s groups with a member', async () => {
    const port = (taken.address() as { port: number }).port;
    const run = runStackLens({
      config: { ...config, http: { ...config.http, port } },
      logger: createLogger({ level: 'error', format: 'json', name: appId }),
    });
    await expect(run).rejects.toThrow(/the port is in use/);

    // Each of the three applications had joined its group before the API's start was tried
    // (startStackLens awaits every consumer's join), and left it: no member, no rebalance. A group
    // left Empty with no committed offsets, as these are, may already be Dead when it is described:
    // in one CI run the archive's stop took 9 s (its fetch long-polls for ARCHIVE_FLUSH_SECONDS) and
    // the other two groups, empty since, were Dead by then.
    const groupIds = [appId, `${appId}-archive`, `${appId}-clickhouse`];
    const { groups } = await admin.describeGroups(groupIds);
    const states = groups
      .map((g) => [g.groupId, g.state === 'Dead' ? 'Empty' : g.state, g.members.length])
      .sort();
    expect(states).toEqual(groupIds.map((id) => [id, 'Empty', 0]));
  }, 180_000);
});
