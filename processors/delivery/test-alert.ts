import type { Alert } from '../records';

/** An alert for the delivery unit tests, with `overrides` applied. */
export function testAlert(overrides: Partial<Alert> = {}): Alert {
  return {
    id: '1b4e28ba-2fa1-41d2-883f-0016d3cca427',
    issue_code: 'PRICE_MISSING',
    severity: 'error',
    message: 'Product price is null or missing (product p-1)',
    suggested_fix: 'Check inventory service response',
    confidence: 0.95,
    automation_possible: true,
    automation_action: 'retry_with_fallback_price',
    related_trace_id: '0af7651916cd43dd8448eb211c80319c',
    related_logs: ['otel-logs:0:42:0'],
    created_at: '2026-11-22T08:00:00.000Z',
    created_by: 'system',
    rule_id: 'price-missing',
    service: 'palantir',
    count: 1,
    window_start: '2026-11-22T08:00:00.000Z',
    ...overrides,
  };
}
