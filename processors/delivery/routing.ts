import type { Alert } from '../records';
import type { DeliveryRules, Route, Severity } from './receivers';

const SEVERITY_ORDER: Record<Severity, number> = { info: 0, warn: 1, error: 2 };

export function routeMatches(route: Route, alert: Alert): boolean {
  if (route.severity !== undefined && !route.severity.has(alert.severity)) return false;
  if (route.minSeverity !== undefined && SEVERITY_ORDER[alert.severity] < SEVERITY_ORDER[route.minSeverity])
    return false;
  if (route.service !== undefined && !route.service.has(alert.service)) return false;
  if (route.issueCode !== undefined && !route.issueCode.has(alert.issue_code)) return false;
  return true;
}

/**
 * The receivers an alert goes to: the union of the receivers of every route it matches, each once, in
 * the order the rules file first names them (so several routes may name one receiver without a double send).
 */
export function routeAlert(rules: DeliveryRules, alert: Alert): string[] {
  const names = new Set<string>();
  for (const route of rules.routes)
    if (routeMatches(route, alert)) for (const receiver of route.receivers) names.add(receiver);
  return [...names];
}
