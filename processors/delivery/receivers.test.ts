import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AlertRulesError } from '../errors';
import { DeliveryRulesError } from './errors';
import { parseDeliveryRulesText } from './index';

const baseFile = JSON.parse(readFileSync(join(__dirname, '../../config/alert-rules.json'), 'utf8')) as Record<
  string,
  unknown
>;

function fileWith(sections: Record<string, unknown>): string {
  return JSON.stringify({ ...baseFile, ...sections });
}

describe('parseDeliveryRulesText', () => {
  it('accepts a rules file without receivers or routes (no delivery)', () => {
    const rules = parseDeliveryRulesText(JSON.stringify(baseFile), {});
    expect(rules.receivers.size).toBe(0);
    expect(rules.routes).toEqual([]);
  });

  it('names every unset variable at once, never a value', () => {
    const text = fileWith({
      receivers: [
        { name: 'hook', type: 'webhook', url: 'https://example.test/h', secret_env: 'HOOK_SECRET' },
        { name: 'chat', type: 'slack', url_env: 'SLACK_URL' },
        {
          name: 'jira',
          type: 'jira',
          url: 'https://acme.atlassian.net',
          project_key: 'OPS',
          auth: { type: 'bearer', token_env: 'JIRA_PAT' },
        },
      ],
      routes: [{ receivers: ['hook', 'chat', 'jira'] }],
    });
    expect(() => parseDeliveryRulesText(text, {})).toThrow(
      /receiver "hook": secret_env: environment variable HOOK_SECRET is not set.*receiver "chat": url_env: environment variable SLACK_URL is not set.*receiver "jira": auth.token_env: environment variable JIRA_PAT is not set/,
    );
  });

  it('refuses a url_env that does not hold a URL without printing it', () => {
    const text = fileWith({ receivers: [{ name: 'chat', type: 'slack', url_env: 'SLACK_URL' }] });
    let error: unknown;
    try {
      parseDeliveryRulesText(text, { SLACK_URL: 'not-a-url-but-secret' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(DeliveryRulesError);
    expect((error as Error).message).toMatch(/SLACK_URL does not hold an http\(s\) URL/);
    expect((error as Error).message).not.toMatch(/not-a-url-but-secret/);
  });

  it('refuses a route to an unknown receiver, a duplicate name, and both or neither url fields', () => {
    const text = fileWith({
      receivers: [
        { name: 'chat', type: 'slack' },
        { name: 'chat', type: 'slack', url: 'https://a.test/x', url_env: 'X' },
      ],
      routes: [{ receivers: ['pager'] }],
    });
    expect(() => parseDeliveryRulesText(text, { X: 'https://a.test/y' })).toThrow(
      /receiver "chat": set exactly one of url and url_env.*duplicate receiver name.*routes #0: receivers: no receiver is named "pager"/,
    );
  });

  it('refuses unknown fields and bad values like the rest of the rules file', () => {
    const text = fileWith({
      receivers: [
        { name: 'jira', type: 'jira', url: 'ftp://x', project_key: 'ops', auth: { type: 'basic' } },
      ],
    });
    expect(() => parseDeliveryRulesText(text, {})).toThrow(AlertRulesError);
    expect(() =>
      parseDeliveryRulesText(fileWith({ routes: [{ receivers: ['x'], colour: 'red' }] }), {}),
    ).toThrow(/routes\.0: Unrecognized key/);
  });
});
