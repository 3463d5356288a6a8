import type { DeliveryDeadLetter } from '../../sinks/delivery/dead-letters';
import { DeliveryProcess } from '../support/delivery-process';
import { FAST_RETRY, deliveryWorld, newAlert } from '../support/delivery-fixtures';
import { TestReceiver } from '../support/delivery-receiver';
import { readTopic, testKafka } from '../support/topology-kafka';
import { waitFor } from '../support/wait-for';

// A receiver that fails must not hold back the others; its deliveries are retried with backoff, then
// dead-lettered with the reason, once each (also across a restart).

/** Each test starts `stacklens deliver` (under load a start takes ~20 s; a restart also waits out the killed member's 10 s session). */
const TEST_TIMEOUT_MS = 300_000;

describe('alert delivery to failing receivers', () => {
  let receiver: TestReceiver;
  const processes: DeliveryProcess[] = [];

  afterEach(async () => {
    for (const p of processes.splice(0)) p.kill('SIGKILL');
    await receiver.close();
  });

  it(
    'retries a receiver answering 500 and dead-letters it, refuses a 400 at once, without blocking a healthy receiver',
    async () => {
      receiver = await TestReceiver.start();
      const world = await deliveryWorld(
        {
          receivers: [
            {
              name: 'healthy',
              type: 'webhook',
              url: `${receiver.url}/hook`,
              secret_env: 'HOOK_SECRET',
              retry: FAST_RETRY,
            },
            {
              name: 'down',
              type: 'webhook',
              url: `${receiver.url}/fail500`,
              secret_env: 'HOOK_SECRET',
              retry: FAST_RETRY,
            },
            { name: 'refusing', type: 'slack', url: `${receiver.url}/fail400`, retry: FAST_RETRY },
          ],
          routes: [{ receivers: ['healthy', 'down', 'refusing'] }],
        },
        {},
      );
      // The first request to the failing receiver gets no answer until the healthy one has every alert.
      let release: () => void = () => undefined;
      const allHealthy = new Promise<void>((resolve) => (release = resolve));
      receiver.hold((r) => r.path === '/fail500', allHealthy);

      const p = new DeliveryProcess(world.env, ['--metrics-port', '0']);
      processes.push(p);
      await p.waitForLog('delivery to start', (l) => l.msg === 'alert delivery started');
      const alerts = [newAlert(), newAlert({ service: 'beorn' }), newAlert({ service: 'arda' })];
      await world.produceRaw(Buffer.from('not an Avro alert'), 'garbage');
      await world.produceAlerts(alerts);

      await p.waitForLog(
        'the healthy receiver to get all alerts',
        (l) => l.msg === 'alert delivered' && l.receiver === 'healthy',
        3,
      );
      // Meanwhile the failing receiver got at most its first request, still unanswered.
      expect(receiver.to('/fail500').length).toBeLessThanOrEqual(1);
      release();
      await p.waitForLog(
        'every failing delivery to be dead-lettered',
        (l) => l.msg === 'delivery dead-lettered',
        6,
      );

      expect(receiver.to('/hook')).toHaveLength(3);
      expect(receiver.to('/fail500')).toHaveLength(3 * FAST_RETRY.attempts);
      expect(receiver.to('/fail400')).toHaveLength(3);

      const letters = await readTopic(testKafka(), world.dlqTopic, { until: (r) => r.length >= 7 });
      expect(letters).toHaveLength(7);
      const undecodable = letters.filter((l) => l.key === 'garbage');
      expect(undecodable).toHaveLength(1);
      expect(undecodable[0]!.headers['stacklens.error']).toMatch(/not in Confluent wire format/);
      expect(undecodable[0]!.headers['stacklens.source']).toBe(`${world.alertsTopic}:0:0`);
      const failures = letters
        .filter((l) => l.key !== 'garbage')
        .map((l) => ({ headers: l.headers, value: JSON.parse(l.value!) as DeliveryDeadLetter }));
      const down = failures.filter((f) => f.value.receiver === 'down');
      expect(down.map((f) => f.value.alert.id).sort()).toEqual(alerts.map((a) => a.id).sort());
      for (const f of down) {
        expect(f.value.attempts).toBe(FAST_RETRY.attempts);
        expect(f.headers['stacklens.error']).toBe('receiver down: HTTP 500: {"error":"receiver is down"}');
      }
      const refusing = failures.filter((f) => f.value.receiver === 'refusing');
      expect(refusing).toHaveLength(3);
      for (const f of refusing) {
        expect(f.value.attempts).toBe(1);
        expect(f.headers['stacklens.receiver']).toBe('refusing');
        expect(f.value.reason).toMatch(/^receiver refusing: HTTP 400/);
      }

      await p.waitForLog('the metrics server', (l) => l.msg === 'delivery metrics served on /metrics');
      expect(await p.metric('stacklens_delivery_failed_total', { receiver: 'down' })).toBe(9);
      expect(await p.metric('stacklens_delivery_retried_total', { receiver: 'down' })).toBe(6);
      expect(await p.metric('stacklens_delivery_dead_lettered_total', { receiver: 'down' })).toBe(3);
      expect(await p.metric('stacklens_delivery_retried_total', { receiver: 'refusing' })).toBe(0);
      expect(
        await p.metric('stacklens_delivery_delivered_total', { receiver: 'healthy', step: 'send' }),
      ).toBe(3);
      expect(await p.metric('stacklens_delivery_latency_seconds_count', { receiver: 'healthy' })).toBe(3);
      expect(await p.metric('stacklens_delivery_undecodable_total', {})).toBe(1);

      // A replay does not dead-letter again: the outcome is recorded per (receiver, alert id).
      await world.produceAlerts(alerts);
      const skipped = async () =>
        p.metric('stacklens_delivery_skipped_total', { receiver: 'down', reason: 'dead_lettered' });
      await waitFor('the replay to be read', async () => (await skipped()) === 3);
      expect(receiver.to('/fail500')).toHaveLength(3 * FAST_RETRY.attempts);
      expect(p.count((l) => l.msg === 'delivery dead-lettered')).toBe(6);
    },
    TEST_TIMEOUT_MS,
  );
});
