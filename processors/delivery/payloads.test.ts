import {
  jiraCommentMarker,
  jiraCommentPayload,
  jiraCommentPayloadV3,
  jiraIssuePayload,
  jiraIssuePayloadV3,
  slackEscape,
  slackPayload,
  traceLink,
  webhookPayload,
} from './payloads';
import { testAlert } from './test-alert';

const links = { traceUrl: 'https://stacklens.test/api/traces/0af7651916cd43dd8448eb211c80319c' };

describe('traceLink', () => {
  it('links the API trace route under the base URL, or nothing without a trace', () => {
    expect(traceLink('https://stacklens.test/', testAlert())).toBe(links.traceUrl);
    expect(traceLink('https://stacklens.test', testAlert({ related_trace_id: null }))).toBeNull();
  });
});

describe('webhookPayload', () => {
  it('wraps the alert event with its id as delivery id and the trace link', () => {
    const alert = testAlert();
    expect(webhookPayload('hook', alert, links)).toEqual({
      version: 1,
      type: 'stacklens.alert',
      delivery_id: alert.id,
      receiver: 'hook',
      alert,
      links: { trace: links.traceUrl },
    });
  });
});

describe('slackPayload', () => {
  it('has a text fallback and blocks with the message, fields, fix and trace link', () => {
    const payload = slackPayload(testAlert(), links);
    expect(payload.text).toBe(
      'ERROR PRICE_MISSING in palantir: Product price is null or missing (product p-1)',
    );
    const json = JSON.stringify(payload.blocks);
    expect(json).toContain('Check inventory service response');
    expect(json).toContain(`<${links.traceUrl}|trace 0af7651916cd43dd8448eb211c80319c>`);
    expect(payload.blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: 'ERROR PRICE_MISSING in palantir' },
    });
  });

  it('escapes Slack control characters so alert text cannot forge links or mentions', () => {
    expect(slackEscape('<!channel> & <https://evil|x>')).toBe(
      '&lt;!channel&gt; &amp; &lt;https://evil|x&gt;',
    );
    const payload = slackPayload(testAlert({ message: '<!here> pay' }), { traceUrl: null });
    expect(JSON.stringify(payload)).not.toContain('<!here>');
    expect(JSON.stringify(payload.blocks)).not.toContain('trace ');
  });

  it('keeps a section under Slack 3000-character limit', () => {
    const payload = slackPayload(testAlert({ message: 'x'.repeat(10_000) }), links);
    const section = payload.blocks[1] as { text: { text: string } };
    expect(section.text.text.length).toBeLessThanOrEqual(3000);
  });
});

describe('jiraIssuePayload', () => {
  const settings = { projectKey: 'OPS', issueType: 'Bug', labels: ['team-a'] };

  it('fills project, issue type, a one-line summary, labels and a description with link and fix', () => {
    const alert = testAlert({ message: 'line one\nline two' });
    const { fields } = jiraIssuePayload(settings, alert, links);
    expect(fields.project).toEqual({ key: 'OPS' });
    expect(fields.issuetype).toEqual({ name: 'Bug' });
    expect(fields.summary).toBe('[StackLens] ERROR PRICE_MISSING in palantir: line one line two');
    expect(fields.labels).toEqual(['stacklens', `stacklens-alert-${alert.id}`, 'team-a']);
    const description = fields.description as string;
    expect(description).toContain(`*Trace:* [0af7651916cd43dd8448eb211c80319c|${links.traceUrl}]`);
    expect(description).toContain('{noformat}\nCheck inventory service response\n{noformat}');
    expect(description).toContain('*Automation available:* retry_with_fallback_price');
  });

  it('cuts the summary at 255 characters and keeps alert text out of wiki markup', () => {
    const alert = testAlert({ message: `[click|https://evil] {noformat} ${'y'.repeat(400)}` });
    const { fields } = jiraIssuePayload(settings, alert, links);
    expect((fields.summary as string).length).toBe(255);
    expect(fields.description as string).toContain('{noformat}\n[click|https://evil] { noformat} y');
  });
});

describe('jiraCommentPayload', () => {
  it('states the new count and carries the marker of this alert version', () => {
    const alert = testAlert({ count: 7 });
    const { body } = jiraCommentPayload(alert, links);
    expect(body).toContain('7 occurrences');
    expect(body).toContain(jiraCommentMarker(alert));
    expect(jiraCommentMarker(alert)).not.toBe(jiraCommentMarker(testAlert({ count: 8 })));
  });
});

describe('Jira REST API v3 payloads (Atlassian Document Format)', () => {
  const settings = { projectKey: 'OPS', issueType: 'Bug', labels: [] };

  it('keeps the v2 fields and turns the description into an ADF document with the link and fix', () => {
    const alert = testAlert({ service: '' });
    const { fields } = jiraIssuePayloadV3(settings, alert, links);
    const v2 = jiraIssuePayload(settings, alert, links).fields;
    expect({ ...fields, description: undefined }).toEqual({ ...v2, description: undefined });
    const description = fields.description as { type: string; version: number; content: unknown[] };
    expect(description).toMatchObject({ type: 'doc', version: 1 });
    const json = JSON.stringify(description);
    expect(json).toContain(`{"type":"link","attrs":{"href":"${links.traceUrl}"}}`);
    expect(json).toContain(
      '{"type":"codeBlock","content":[{"type":"text","text":"Check inventory service response"}]}',
    );
    // ADF refuses empty text nodes: an empty service is shown as "-".
    expect(json).not.toContain('"text":""');
  });

  it('writes the comment as ADF with the same marker', () => {
    const alert = testAlert({ count: 3 });
    const json = JSON.stringify(jiraCommentPayloadV3(alert, links));
    expect(json).toContain('3 occurrences');
    expect(json).toContain(jiraCommentMarker(alert));
  });
});
