import { AlertRulesFileSchema, parseAlertRulesText } from '../alerts/rules';
import { compileDelivery, type DeliveryRules } from './receivers';

export { DeliveryRulesError, DeliveryStateError } from './errors';
export { decodeEntry, deliveryKey, doneEntry, encodeEntry, nextStep, pendingEntry } from './delivery-state';
export type { DeliveryEntry, DeliveryStep } from './delivery-state';
export {
  jiraAlertLabel,
  jiraCommentMarker,
  jiraCommentPayload,
  jiraCommentPayloadV3,
  jiraIssuePayload,
  jiraIssuePayloadV3,
  slackPayload,
  traceLink,
  webhookPayload,
} from './payloads';
export type { AlertLinks, WebhookPayload } from './payloads';
export { compileDelivery } from './receivers';
export type { DeliveryRules, JiraReceiver, Receiver, SlackReceiver, WebhookReceiver } from './receivers';
export { routeAlert } from './routing';
export { SIGNATURE_HEADER, TIMESTAMP_HEADER, signWebhook, verifyWebhook } from './signing';

/**
 * The delivery part of a rules file's text: the whole file is validated as the pipeline validates it
 * (a file the pipeline refuses is refused here too), then the receivers' secrets are read from `env`.
 * @throws AlertRulesError for an invalid file, DeliveryRulesError for an unset variable or unknown receiver
 */
export function parseDeliveryRulesText(
  text: string,
  env: Readonly<Record<string, string | undefined>>,
): DeliveryRules {
  parseAlertRulesText(text);
  const file = AlertRulesFileSchema.parse(JSON.parse(text));
  return compileDelivery(file, env);
}
