import { ConfigResourceTypes } from 'kafkajs';
import { createLogger } from '../../common/logger';
import { doneEntry, pendingEntry } from '../../processors/delivery';
import { testAlert } from '../../processors/delivery/test-alert';
import { deliveryTopicNames, ensureDeliveryTopics } from '../../sinks/delivery/delivery-topics';
import { DeliveryStateStore } from '../../sinks/delivery/state-store';
import { testKafka, uniqueName } from '../support/topology-kafka';

// The delivery state topic on the real broker: what one delivery instance records, another sees once it
// catches up (as on a partition assignment), and an older record never replaces a newer entry.

describe('delivery state store', () => {
  it('shares entries between instances through the compacted topic', async () => {
    const kafka = testKafka();
    const topics = deliveryTopicNames(uniqueName('delivery-state'));
    const admin = kafka.admin();
    await admin.connect();
    try {
      await ensureDeliveryTopics(admin, topics, { stateRetentionHours: 24, deadLetterRetentionHours: 24 });
      const [config] = (
        await admin.describeConfigs({
          includeSynonyms: false,
          resources: [
            { type: ConfigResourceTypes.TOPIC, name: topics.state, configNames: ['cleanup.policy'] },
          ],
        })
      ).resources;
      expect(config?.configEntries[0]?.configValue).toBe('compact,delete');
    } finally {
      await admin.disconnect();
    }
    const logger = createLogger({ level: 'silent', format: 'json' });
    const now = new Date();
    const alert = testAlert();
    const a = await DeliveryStateStore.open(kafka, topics.state, logger);
    const b = await DeliveryStateStore.open(kafka, topics.state, logger);
    try {
      const pending = pendingEntry({ action: 'create', inDoubt: false }, alert, now);
      await a.put('jira/x', pending);
      await b.catchUp();
      expect(b.get('jira/x')).toEqual(pending);

      // b records the outcome; a, catching up, reads its own older intent and b's outcome, in order.
      const done = doneEntry(pending, 'delivered', now, 'OPS-1');
      await b.put('jira/x', done);
      await a.catchUp();
      expect(a.get('jira/x')).toEqual(done);

      // b writes without having read a's older record first: reading it later changes nothing.
      const sent = pendingEntry({ action: 'send', inDoubt: false }, alert, now);
      await a.put('hook/z', sent);
      await b.put('hook/z', doneEntry(sent, 'dead_lettered', now));
      await b.catchUp();
      expect(b.get('hook/z')?.outcome).toBe('dead_lettered');

      // A store opened afterwards (a restart) starts from the latest entry.
      const c = await DeliveryStateStore.open(kafka, topics.state, logger);
      expect(c.get('jira/x')).toEqual(done);
      expect(c.get('hook/z')?.outcome).toBe('dead_lettered');
      expect(c.get('jira/y')).toBeUndefined();
      await c.close();
    } finally {
      await a.close();
      await b.close();
    }
  });
});
