/** An alert as GET /api/alerts and /ws/alerts give it (the seeds' alert event format). */
export interface Alert {
  id: string;
  issue_code: string;
  severity: 'info' | 'warn' | 'error';
  message: string;
  suggested_fix: string;
  confidence: number;
  related_trace_id: string | null;
  created_at: string;
  rule_id: string;
  service: string;
  count: number;
}

/** The fields the console shows of a log, from a REST row or a live record (both carry these). */
export interface Log {
  id: string;
  time_unix_nano: string;
  severity_text: string;
  severity_number: number;
  service: string;
  body: string;
  trace_id: string;
  span_id: string;
  resource_attributes: Record<string, string>;
  scope_attributes: Record<string, string>;
  log_attributes: Record<string, string>;
}

export interface LogPage {
  logs: Log[];
  next_cursor: string | null;
  truncated: boolean;
}

export const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
