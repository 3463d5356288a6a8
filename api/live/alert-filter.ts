import type { Alert, AlertSeverity } from '../../processors/records';
import { SEVERITIES_AT_LEAST } from '../query/alerts-sql';

export interface AlertFilter {
  minSeverity?: AlertSeverity;
  service?: string;
}

export function matchesAlert(filter: AlertFilter, alert: Alert): boolean {
  if (filter.minSeverity !== undefined && !SEVERITIES_AT_LEAST[filter.minSeverity].includes(alert.severity))
    return false;
  if (filter.service !== undefined && alert.service !== filter.service) return false;
  return true;
}
