import { compileDelivery } from './receivers';
import { routeAlert } from './routing';
import { testAlert } from './test-alert';

const env = {
  HOOK_SECRET: 's3cret',
  SLACK_URL: 'https://hooks.slack.test/T/B/X',
  JIRA_USER: 'u',
  JIRA_TOKEN: 't',
};

const rules = compileDelivery(
  {
    receivers: [
      {
        name: 'hook',
        type: 'webhook',
        url: 'http://127.0.0.1:1/hook',
        secret_env: 'HOOK_SECRET',
        timeout_ms: 1000,
        retry: { attempts: 1, initial_delay_ms: 1, max_delay_ms: 1 },
      },
      {
        name: 'slack',
        type: 'slack',
        url_env: 'SLACK_URL',
        timeout_ms: 1000,
        retry: { attempts: 1, initial_delay_ms: 1, max_delay_ms: 1 },
      },
      {
        name: 'jira',
        type: 'jira',
        url: 'http://127.0.0.1:1/',
        project_key: 'OPS',
        issue_type: 'Bug',
        labels: [],
        auth: { type: 'basic', user_env: 'JIRA_USER', token_env: 'JIRA_TOKEN' },
        search_api: 'search',
        api_version: 3,
        timeout_ms: 1000,
        retry: { attempts: 1, initial_delay_ms: 1, max_delay_ms: 1 },
      },
    ],
    routes: [
      { receivers: ['hook'] },
      { receivers: ['slack', 'hook'], min_severity: 'warn' },
      {
        receivers: ['jira'],
        severity: ['error'],
        service: ['palantir', 'beorn'],
        issue_code: ['PRICE_MISSING'],
      },
    ],
  },
  env,
);

describe('routeAlert', () => {
  it('sends an alert to the union of the matching routes, each receiver once, in file order', () => {
    expect(routeAlert(rules, testAlert())).toEqual(['hook', 'slack', 'jira']);
  });

  it('applies min_severity: info reaches only the catch-all route', () => {
    expect(routeAlert(rules, testAlert({ severity: 'info' }))).toEqual(['hook']);
  });

  it('requires every condition of a route: severity, service and issue code', () => {
    expect(routeAlert(rules, testAlert({ severity: 'warn' }))).toEqual(['hook', 'slack']);
    expect(routeAlert(rules, testAlert({ service: 'arda' }))).toEqual(['hook', 'slack']);
    expect(routeAlert(rules, testAlert({ issue_code: 'PAYMENT_FAILURE' }))).toEqual(['hook', 'slack']);
  });

  it('routes nowhere without routes', () => {
    expect(routeAlert({ receivers: rules.receivers, routes: [] }, testAlert())).toEqual([]);
  });

  it('resolves secrets from the environment, Jira basic auth included', () => {
    const hook = rules.receivers.get('hook');
    const jira = rules.receivers.get('jira');
    expect(hook).toMatchObject({ kind: 'webhook', secret: 's3cret' });
    expect(rules.receivers.get('slack')).toMatchObject({ kind: 'slack', url: env.SLACK_URL });
    expect(jira).toMatchObject({
      kind: 'jira',
      baseUrl: 'http://127.0.0.1:1',
      authorization: `Basic ${Buffer.from('u:t').toString('base64')}`,
      apiVersion: 3,
    });
  });
});
