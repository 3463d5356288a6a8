import {
  jiraAlertLabel,
  jiraCommentMarker,
  jiraCommentPayload,
  jiraCommentPayloadV3,
  jiraIssuePayload,
  jiraIssuePayloadV3,
  signWebhook,
  slackPayload,
  webhookPayload,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  type AlertLinks,
  type JiraReceiver,
  type Receiver,
} from '../../processors/delivery';
import type { Alert } from '../../processors/records';
import { httpRequest, ReceiverResponseError } from './http';

/**
 * The HTTP side of each receiver kind. Every request carries `Idempotency-Key: <alert id>` (Jira
 * comments: `<alert id>:<count>`), so receivers that dedupe on it see one delivery even when a request is
 * sent again after a crash or a lost answer.
 */

const USER_AGENT = 'StackLens-Alert-Delivery/1';

/** Sends one alert to a webhook or Slack receiver. */
export async function postAlert(
  receiver: Exclude<Receiver, JiraReceiver>,
  alert: Alert,
  links: AlertLinks,
): Promise<void> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
    'idempotency-key': alert.id,
    'x-stacklens-alert-id': alert.id,
  };
  let body: string;
  if (receiver.kind === 'webhook') {
    body = JSON.stringify(webhookPayload(receiver.name, alert, links));
    const timestamp = String(Math.floor(Date.now() / 1000));
    headers[TIMESTAMP_HEADER] = timestamp;
    headers[SIGNATURE_HEADER] = signWebhook(receiver.secret, timestamp, body);
  } else {
    body = JSON.stringify(slackPayload(alert, links));
  }
  await httpRequest({
    receiver: receiver.name,
    method: 'POST',
    url: receiver.url,
    headers,
    body,
    timeoutMs: receiver.timeoutMs,
  });
}

function jiraHeaders(receiver: JiraReceiver): Record<string, string> {
  return {
    accept: 'application/json',
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
    authorization: receiver.authorization,
  };
}

function parseJson(receiver: string, what: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ReceiverResponseError(`receiver ${receiver}: ${what}: the answer is not JSON`);
  }
}

const ISSUE_KEY = /^[A-Z][A-Z0-9_]*-\d+$/;

function issueKeyOf(receiver: string, what: string, value: unknown): string {
  const key = (value as { key?: unknown } | null)?.key;
  if (typeof key !== 'string' || !ISSUE_KEY.test(key))
    throw new ReceiverResponseError(`receiver ${receiver}: ${what}: the answer has no issue key`);
  return key;
}

/** The REST API root of the receiver's version: `<url>/rest/api/2` or `/3`. */
function api(receiver: JiraReceiver): string {
  return `${receiver.baseUrl}/rest/api/${receiver.apiVersion}`;
}

/** `POST /rest/api/{2,3}/issue`; resolves to the new issue's key. */
export async function createJiraIssue(
  receiver: JiraReceiver,
  alert: Alert,
  links: AlertLinks,
): Promise<string> {
  const { text } = await httpRequest({
    receiver: receiver.name,
    method: 'POST',
    url: `${api(receiver)}/issue`,
    headers: { ...jiraHeaders(receiver), 'idempotency-key': alert.id },
    body: JSON.stringify(
      receiver.apiVersion === 3
        ? jiraIssuePayloadV3(receiver, alert, links)
        : jiraIssuePayload(receiver, alert, links),
    ),
    timeoutMs: receiver.timeoutMs,
  });
  return issueKeyOf(receiver.name, 'create issue', parseJson(receiver.name, 'create issue', text));
}

/** The issue created for an alert, found by its label with JQL; null when there is none. */
export async function findJiraIssue(receiver: JiraReceiver, alertId: string): Promise<string | null> {
  const jql = `project = "${receiver.projectKey}" AND labels = "${jiraAlertLabel(alertId)}" ORDER BY created ASC`;
  const query = new URLSearchParams({ jql, fields: 'key', maxResults: '1' });
  const { text } = await httpRequest({
    receiver: receiver.name,
    method: 'GET',
    url: `${api(receiver)}/${receiver.searchApi}?${query.toString()}`,
    headers: jiraHeaders(receiver),
    timeoutMs: receiver.timeoutMs,
  });
  const issues = (parseJson(receiver.name, 'search', text) as { issues?: unknown } | null)?.issues;
  if (!Array.isArray(issues))
    throw new ReceiverResponseError(`receiver ${receiver.name}: search: the answer has no issues`);
  return issues.length === 0 ? null : issueKeyOf(receiver.name, 'search', issues[0]);
}

/** `POST /rest/api/{2,3}/issue/{key}/comment` for a later version (count) of the alert. */
export async function addJiraComment(
  receiver: JiraReceiver,
  issueKey: string,
  alert: Alert,
  links: AlertLinks,
): Promise<void> {
  await httpRequest({
    receiver: receiver.name,
    method: 'POST',
    url: `${api(receiver)}/issue/${encodeURIComponent(issueKey)}/comment`,
    headers: { ...jiraHeaders(receiver), 'idempotency-key': `${alert.id}:${alert.count}` },
    body: JSON.stringify(
      receiver.apiVersion === 3 ? jiraCommentPayloadV3(alert, links) : jiraCommentPayload(alert, links),
    ),
    timeoutMs: receiver.timeoutMs,
  });
}

/** Whether the issue's newest comments include the one for this alert version (found by its marker). */
export async function hasJiraComment(
  receiver: JiraReceiver,
  issueKey: string,
  alert: Alert,
): Promise<boolean> {
  const query = new URLSearchParams({ orderBy: '-created', maxResults: '100' });
  const { text } = await httpRequest({
    receiver: receiver.name,
    method: 'GET',
    url: `${api(receiver)}/issue/${encodeURIComponent(issueKey)}/comment?${query.toString()}`,
    headers: jiraHeaders(receiver),
    timeoutMs: receiver.timeoutMs,
  });
  const comments = (parseJson(receiver.name, 'comments', text) as { comments?: unknown } | null)?.comments;
  if (!Array.isArray(comments))
    throw new ReceiverResponseError(`receiver ${receiver.name}: comments: the answer has no comments`);
  const marker = jiraCommentMarker(alert);
  // v2 bodies are text, v3 bodies ADF documents; the marker has no character JSON escapes, so it shows
  // in the JSON of either.
  return comments.some((c) => JSON.stringify((c as { body?: unknown } | null)?.body ?? '').includes(marker));
}
