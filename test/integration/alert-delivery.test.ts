import { verifyWebhook, type WebhookPayload } from '../../processors/delivery';
import type { Alert } from '../../processors/records';
import { DeliveryProcess } from '../support/delivery-process';
import {
  FAST_RETRY,
  SECRETS,
  deliveryWorld,
  newAlert,
  type DeliveryWorld,
} from '../support/delivery-fixtures';
import { TestReceiver, type RecordedRequest } from '../support/delivery-receiver';
import { waitFor } from '../support/wait-for';

// `stacklens deliver` as a child process against the local stack's Kafka and registry, delivering to a
// real HTTP receiver started here; alerts go through the real Avro serde onto a per-test alerts topic.

const delivered = (receiver: string) => (l: Record<string, unknown>) =>
  l.msg === 'alert delivered' && l.receiver === receiver;

function receivers(receiver: TestReceiver) {
  return [
    {
      name: 'hook',
      type: 'webhook',
      url: `${receiver.url}/hook`,
      secret_env: 'HOOK_SECRET',
      retry: FAST_RETRY,
    },
    { name: 'chat', type: 'slack', url_env: 'SLACK_URL', retry: FAST_RETRY },
    {
      name: 'jira',
      type: 'jira',
      url: `${receiver.url}/jira`,
      project_key: 'OPS',
      issue_type: 'Incident',
      auth: { type: 'basic', user_env: 'JIRA_USER', token_env: 'JIRA_TOKEN' },
      retry: FAST_RETRY,
    },
  ];
}

/** Alert ids of the webhook requests, in arrival order. */
const hookIds = (requests: RecordedRequest[]) =>
  requests.map((r) => (JSON.parse(r.body) as WebhookPayload).alert.id);
const slackIds = (requests: RecordedRequest[]) => requests.map((r) => r.headers['idempotency-key']);

/** Each test starts `stacklens deliver` (under load a start takes ~20 s; a restart also waits out the killed member's 10 s session). */
const TEST_TIMEOUT_MS = 300_000;

describe('alert delivery', () => {
  let receiver: TestReceiver;
  const processes: DeliveryProcess[] = [];

  beforeEach(async () => {
    receiver = await TestReceiver.start();
  });

  afterEach(async () => {
    for (const p of processes.splice(0)) p.kill('SIGKILL');
    await receiver.close();
  });

  async function start(world: DeliveryWorld, env: Record<string, string> = {}): Promise<DeliveryProcess> {
    const p = new DeliveryProcess({ ...world.env, ...env }, ['--metrics-port', '0']);
    processes.push(p);
    await p.waitForLog('delivery to start', (l) => l.msg === 'alert delivery started');
    await p.waitForLog('the metrics server', (l) => l.msg === 'delivery metrics served on /metrics');
    return p;
  }

  it(
    'delivers each alert once to a webhook, Slack and Jira across a kill -9 before the commit and a replay; a repeat becomes a Jira comment',
    async () => {
      const world = await deliveryWorld(
        {
          receivers: receivers(receiver),
          routes: [{ receivers: ['hook', 'chat'] }, { receivers: ['jira'], min_severity: 'error' }],
        },
        { SLACK_URL: `${receiver.url}/slack` },
      );
      // No commit before the kill: the restarted process reads every alert again.
      const first = await start(world, { DELIVERY_COMMIT_INTERVAL_MS: '600000' });
      const a1 = newAlert();
      const a2 = newAlert({ service: 'beorn', issue_code: 'PAYMENT_FAILURE' });
      const a3 = newAlert({ severity: 'warn', issue_code: 'SLOW_TRACE' });
      const a1Again: Alert = { ...a1, count: 5 };
      await world.produceAlerts([a1, a2, a3, a1Again]);
      // 3 webhook + 3 Slack + 2 Jira issues + 1 Jira comment, each logged after its outcome is recorded.
      await first.waitForLog('every delivery of the first process', (l) => l.msg === 'alert delivered', 9);
      first.kill('SIGKILL');
      expect(await first.exited).toBeNull();

      const second = await start(world);
      const a4 = newAlert({ service: 'arda' });
      await world.produceAlerts([a1, a2, a3, a1Again, a4]); // a replay of the same alerts, then a new one
      await second.waitForLog('the new alert on the webhook', delivered('hook'));
      await second.waitForLog('the new alert on Slack', delivered('chat'));
      await second.waitForLog('the new alert in Jira', delivered('jira'));

      const hooks = receiver.to('/hook');
      expect(hookIds(hooks)).toEqual([a1.id, a2.id, a3.id, a4.id]);
      for (const request of hooks) {
        const payload = JSON.parse(request.body) as WebhookPayload;
        expect(request.headers['idempotency-key']).toBe(payload.alert.id);
        expect(payload.links.trace).toBe(
          `https://stacklens.example.test/api/traces/${payload.alert.related_trace_id}`,
        );
        expect(
          verifyWebhook(
            SECRETS.HOOK_SECRET,
            {
              timestamp: String(request.headers['x-stacklens-timestamp']),
              body: request.body,
              signature: String(request.headers['x-stacklens-signature']),
            },
            Math.floor(Date.now() / 1000),
          ),
        ).toBe(true);
      }
      const slack = receiver.to('/slack');
      expect(slackIds(slack)).toEqual([a1.id, a2.id, a3.id, a4.id]);
      expect((JSON.parse(slack[1]!.body) as { text: string }).text).toContain('PAYMENT_FAILURE in beorn');

      // Jira: one issue per error alert (a3 is a warning, not routed there), one comment for a1's repeat.
      const creates = receiver.to('/jira/rest/api/2/issue');
      expect(creates).toHaveLength(3);
      expect(receiver.issues.map((i) => i.fields.labels)).toEqual([
        ['stacklens', `stacklens-alert-${a1.id}`],
        ['stacklens', `stacklens-alert-${a2.id}`],
        ['stacklens', `stacklens-alert-${a4.id}`],
      ]);
      const issue = receiver.issues[0]!;
      expect(issue.fields.description as string).toContain(
        `https://stacklens.example.test/api/traces/${a1.related_trace_id}`,
      );
      expect(issue.fields.description as string).toContain('Check inventory service response');
      expect(receiver.jiraComments().map((r) => r.path)).toEqual([
        `/jira/rest/api/2/issue/${issue.key}/comment`,
      ]);
      expect(issue.comments).toHaveLength(1);
      expect(issue.comments[0]).toContain('5 occurrences');

      // The second process read the 4 uncommitted alerts and their 4 replayed copies, and skipped each.
      expect(
        await second.metric('stacklens_delivery_skipped_total', { receiver: 'hook', reason: 'delivered' }),
      ).toBe(8);
      expect(
        await second.metric('stacklens_delivery_skipped_total', { receiver: 'jira', reason: 'delivered' }),
      ).toBe(6);
      expect(
        await second.metric('stacklens_delivery_delivered_total', { receiver: 'jira', step: 'create' }),
      ).toBe(1);
      expect(await second.metric('stacklens_delivery_in_doubt_total', { receiver: 'hook' })).toBe(0);

      second.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'resolves deliveries a kill -9 left in doubt: Jira finds the issue it created instead of creating another, the webhook is sent again with the same Idempotency-Key',
    async () => {
      const world = await deliveryWorld(
        {
          // Jira through REST API v3 here (ADF bodies, /rest/api/3), v2 in the test above.
          receivers: receivers(receiver)
            .filter((r) => r.name !== 'chat')
            .map((r) => (r.name === 'jira' ? { ...r, api_version: 3 } : r)),
          routes: [{ receivers: ['hook', 'jira'] }],
        },
        {},
      );
      // The receivers act on the first requests but their answers never arrive: the process dies waiting.
      let release: () => void = () => undefined;
      const released = new Promise<void>((resolve) => (release = resolve));
      const heldCreate = receiver.hold(
        (r) => r.method === 'POST' && r.path === '/jira/rest/api/3/issue',
        released,
      );
      const heldHook = receiver.hold((r) => r.path === '/hook', released);
      const first = await start(world);
      const alert = newAlert();
      await world.produceAlerts([alert]);
      await waitFor(
        'both requests to reach the receivers',
        () => heldCreate.length === 1 && heldHook.length === 1,
      );
      first.kill('SIGKILL');
      await first.exited;
      release();

      const second = await start(world);
      await second.waitForLog('the webhook delivery', delivered('hook'));
      await second.waitForLog('the Jira delivery', delivered('jira'));

      expect(receiver.to('/jira/rest/api/3/issue')).toHaveLength(1);
      expect(receiver.issues).toHaveLength(1);
      expect(receiver.issues[0]!.fields.description).toMatchObject({ type: 'doc', version: 1 });
      const searches = receiver.to('/jira/rest/api/3/search/jql', 'GET');
      expect(searches).toHaveLength(1);
      expect(searches[0]!.query.get('jql')).toContain(`labels = "stacklens-alert-${alert.id}"`);
      expect(second.logs.find((l) => l.msg === 'alert delivered' && l.receiver === 'jira')?.issueKey).toBe(
        'OPS-1',
      );

      // The webhook cannot be asked; it gets the alert again under the same key, which it dedupes on.
      const hooks = receiver.to('/hook');
      expect(hooks).toHaveLength(2);
      expect(new Set(hooks.map((r) => r.headers['idempotency-key']))).toEqual(new Set([alert.id]));
      expect(await second.metric('stacklens_delivery_in_doubt_total', { receiver: 'hook' })).toBe(1);
      expect(await second.metric('stacklens_delivery_in_doubt_total', { receiver: 'jira' })).toBe(1);
    },
    TEST_TIMEOUT_MS,
  );
});
