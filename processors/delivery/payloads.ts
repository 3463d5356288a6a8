import type { Alert } from '../records';

/**
 * The bodies sent to each kind of receiver, built from the alert alone, so that a resend after a crash
 * carries the same content. `traceUrl` is the link to the alert's trace (or null when it has none).
 */

export interface AlertLinks {
  traceUrl: string | null;
}

/** The link to a trace in the StackLens API (`GET /api/traces/:traceId`) under `baseUrl`. */
export function traceLink(baseUrl: string, alert: Alert): string | null {
  if (alert.related_trace_id === null || alert.related_trace_id === '') return null;
  return `${baseUrl.replace(/\/+$/, '')}/api/traces/${encodeURIComponent(alert.related_trace_id)}`;
}

/** Generic webhook: a versioned envelope around the alert event as published on stacklens-alerts. */
export interface WebhookPayload {
  version: 1;
  type: 'stacklens.alert';
  /** The alert id: also the Idempotency-Key header, the key a receiver dedupes on. */
  delivery_id: string;
  receiver: string;
  alert: Alert;
  links: { trace: string | null };
}

export function webhookPayload(receiver: string, alert: Alert, links: AlertLinks): WebhookPayload {
  return {
    version: 1,
    type: 'stacklens.alert',
    delivery_id: alert.id,
    receiver,
    alert: { ...alert, related_logs: [...alert.related_logs] },
    links: { trace: links.traceUrl },
  };
}

/** Slack mrkdwn treats &, < and > as control characters; everything else is shown as written. */
export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Slack limits a section's text to 3000 characters and a header to 150. */
function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

const SLACK_EMOJI: Record<Alert['severity'], string> = {
  error: ':red_circle:',
  warn: ':large_orange_circle:',
  info: ':large_blue_circle:',
};

/** Slack-compatible incoming webhook: `text` (notifications, clients without blocks) and Block Kit blocks. */
export function slackPayload(alert: Alert, links: AlertLinks): { text: string; blocks: unknown[] } {
  const title = `${alert.severity.toUpperCase()} ${alert.issue_code} in ${alert.service || 'unknown service'}`;
  const fields = [
    `*Severity*\n${alert.severity}`,
    `*Service*\n${slackEscape(alert.service || '-')}`,
    `*Issue code*\n${slackEscape(alert.issue_code)}`,
    `*Rule*\n${slackEscape(alert.rule_id)}`,
    `*Occurrences*\n${alert.count}`,
    `*First seen*\n${alert.created_at}`,
  ];
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: clip(title, 150) } },
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: clip(`${SLACK_EMOJI[alert.severity]} ${slackEscape(alert.message)}`, 3000),
      },
    },
    { type: 'section', fields: fields.map((text) => ({ type: 'mrkdwn', text })) },
  ];
  if (alert.suggested_fix !== '')
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: clip(`*Suggested fix*\n${slackEscape(alert.suggested_fix)}`, 3000) },
    });
  const context = [`alert ${alert.id}`];
  if (links.traceUrl !== null) context.push(`<${links.traceUrl}|trace ${alert.related_trace_id}>`);
  blocks.push({ type: 'context', elements: context.map((text) => ({ type: 'mrkdwn', text })) });
  return { text: clip(`${title}: ${slackEscape(alert.message)}`, 3000), blocks };
}

/** The label that finds the Jira issue of an alert again (JQL `labels = "<label>"`). */
export function jiraAlertLabel(alertId: string): string {
  return `stacklens-alert-${alertId}`;
}

/**
 * The marker a comment for one version (count) of an alert carries, so that a comment whose outcome a
 * crash left unknown can be found before it is posted again.
 */
export function jiraCommentMarker(alert: Alert): string {
  return `(stacklens alert ${alert.id}, count ${alert.count})`;
}

/**
 * Jira's wiki markup would interpret braces, brackets and pipes in alert text (and let it forge links);
 * `{noformat}` shows text as written, and its own closing tag is the one sequence to break up.
 */
function noformat(text: string): string {
  return `{noformat}\n${text.replace(/\{noformat\}/gi, '{ noformat}')}\n{noformat}`;
}

/** Jira's summary: one line, at most 255 characters. */
function summaryOf(alert: Alert): string {
  const line = `[StackLens] ${alert.severity.toUpperCase()} ${alert.issue_code} in ${alert.service || 'unknown service'}: ${alert.message}`;
  return clip(line.replace(/[\r\n\t]+/g, ' '), 255);
}

export interface JiraIssueSettings {
  projectKey: string;
  issueType: string;
  labels: readonly string[];
}

/** `POST /rest/api/2/issue` body: description in wiki markup with the trace link and the suggested fix. */
export function jiraIssuePayload(
  settings: JiraIssueSettings,
  alert: Alert,
  links: AlertLinks,
): { fields: Record<string, unknown> } {
  const lines = [
    `*Alert* ${alert.id} raised by rule _${alert.rule_id}_ (${alert.created_by}).`,
    '',
    noformat(alert.message),
    '',
    `*Severity:* ${alert.severity}`,
    `*Service:* ${alert.service || '-'}`,
    `*Issue code:* ${alert.issue_code}`,
    `*First seen:* ${alert.created_at} (window from ${alert.window_start})`,
    `*Occurrences:* ${alert.count}`,
    `*Confidence:* ${alert.confidence}`,
    links.traceUrl === null ? '*Trace:* none' : `*Trace:* [${alert.related_trace_id}|${links.traceUrl}]`,
    '',
    '*Suggested fix*',
    noformat(alert.suggested_fix === '' ? '(none)' : alert.suggested_fix),
  ];
  if (alert.automation_possible && alert.automation_action !== null)
    lines.push('', `*Automation available:* ${alert.automation_action}`);
  return {
    fields: {
      project: { key: settings.projectKey },
      issuetype: { name: settings.issueType },
      summary: summaryOf(alert),
      description: lines.join('\n'),
      labels: [...new Set(['stacklens', jiraAlertLabel(alert.id), ...settings.labels])],
    },
  };
}

/** `POST /rest/api/2/issue/{key}/comment` body for a repeat (a higher count) of an alert. */
export function jiraCommentPayload(alert: Alert, links: AlertLinks): { body: string } {
  const lines = [
    `The alert occurred again: ${alert.count} occurrences in the window from ${alert.window_start}.`,
    links.traceUrl === null ? '' : `Latest trace: [${alert.related_trace_id}|${links.traceUrl}]`,
    jiraCommentMarker(alert),
  ];
  return { body: lines.filter((l) => l !== '').join('\n') };
}

/** Atlassian Document Format (Jira REST API v3): structured JSON, so alert text needs no escaping. */
type AdfNode = Record<string, unknown>;
/** ADF refuses empty text nodes. */
const adfText = (text: string, marks?: AdfNode[]): AdfNode => ({
  type: 'text',
  text: text === '' ? '-' : text,
  ...(marks ? { marks } : {}),
});
const strong = (text: string): AdfNode => adfText(text, [{ type: 'strong' }]);
const paragraph = (...content: AdfNode[]): AdfNode => ({ type: 'paragraph', content });
const codeBlock = (text: string): AdfNode => ({ type: 'codeBlock', content: [adfText(text)] });
const doc = (content: AdfNode[]): AdfNode => ({ type: 'doc', version: 1, content });
const link = (text: string, href: string): AdfNode => adfText(text, [{ type: 'link', attrs: { href } }]);

/** `POST /rest/api/3/issue` body: the same issue as `jiraIssuePayload`, its description in ADF. */
export function jiraIssuePayloadV3(
  settings: JiraIssueSettings,
  alert: Alert,
  links: AlertLinks,
): { fields: Record<string, unknown> } {
  const field = (name: string, value: string): AdfNode => paragraph(strong(`${name}: `), adfText(value));
  const content = [
    paragraph(
      strong('Alert '),
      adfText(`${alert.id} raised by rule ${alert.rule_id} (${alert.created_by}).`),
    ),
    codeBlock(alert.message),
    field('Severity', alert.severity),
    field('Service', alert.service),
    field('Issue code', alert.issue_code),
    field('First seen', `${alert.created_at} (window from ${alert.window_start})`),
    field('Occurrences', String(alert.count)),
    field('Confidence', String(alert.confidence)),
    links.traceUrl === null || alert.related_trace_id === null
      ? field('Trace', 'none')
      : paragraph(strong('Trace: '), link(alert.related_trace_id, links.traceUrl)),
    paragraph(strong('Suggested fix')),
    codeBlock(alert.suggested_fix === '' ? '(none)' : alert.suggested_fix),
  ];
  if (alert.automation_possible && alert.automation_action !== null)
    content.push(field('Automation available', alert.automation_action));
  const { fields } = jiraIssuePayload(settings, alert, links);
  return { fields: { ...fields, description: doc(content) } };
}

/** `POST /rest/api/3/issue/{key}/comment` body: the same comment as `jiraCommentPayload`, in ADF. */
export function jiraCommentPayloadV3(alert: Alert, links: AlertLinks): { body: AdfNode } {
  const content = [
    paragraph(
      adfText(
        `The alert occurred again: ${alert.count} occurrences in the window from ${alert.window_start}.`,
      ),
    ),
  ];
  if (links.traceUrl !== null && alert.related_trace_id !== null)
    content.push(paragraph(adfText('Latest trace: '), link(alert.related_trace_id, links.traceUrl)));
  content.push(paragraph(adfText(jiraCommentMarker(alert))));
  return { body: doc(content) };
}
