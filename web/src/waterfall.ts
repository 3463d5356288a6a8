/** The span shape of GET /api/traces/:id (api/query/trace-tree.ts). */
export interface SpanNode {
  span_id: string;
  parent_span_id: string;
  name: string;
  kind: string;
  service: string;
  start_time_unix_nano: string;
  duration_ms: number;
  offset_ms: number;
  status_code: string;
  status_message: string;
  attributes: Record<string, string>;
  resource_attributes: Record<string, string>;
  events: { time_unix_nano: string; name: string; attributes: Record<string, string> }[];
  children: SpanNode[];
}

export interface WaterfallRow {
  span: SpanNode;
  depth: number;
  /** Bar start and width as percentages of the trace's duration. */
  left: number;
  width: number;
  error: boolean;
}

export function isErrorStatus(status: string): boolean {
  return status === 'Error' || status === 'STATUS_CODE_ERROR' || status === '2';
}

/** Depth-first rows of the span tree (children already in start order), iteratively: deep trees cannot overflow the stack. */
export function waterfallRows(roots: readonly SpanNode[], durationMs: number): WaterfallRow[] {
  const rows: WaterfallRow[] = [];
  const total = durationMs > 0 ? durationMs : 1;
  const stack: { span: SpanNode; depth: number }[] = [...roots].reverse().map((span) => ({ span, depth: 0 }));
  while (stack.length > 0) {
    const { span, depth } = stack.pop()!;
    const left = Math.min(100, Math.max(0, (span.offset_ms / total) * 100));
    rows.push({
      span,
      depth,
      left,
      // At least a sliver, so an instant span stays visible and clickable.
      width: Math.max(0.3, Math.min(100 - left, (span.duration_ms / total) * 100)),
      error: isErrorStatus(span.status_code),
    });
    for (let i = span.children.length - 1; i >= 0; i--)
      stack.push({ span: span.children[i]!, depth: depth + 1 });
  }
  return rows;
}
