import type { SpanRow } from './traces-sql';

export interface SpanNode {
  span_id: string;
  parent_span_id: string;
  name: string;
  kind: string;
  service: string;
  start_time_unix_nano: string;
  end_time_unix_nano: string;
  duration_ns: string;
  duration_ms: number;
  /** Start relative to the trace's first span, in ms (for waterfall display). */
  offset_ms: number;
  status_code: string;
  status_message: string;
  attributes: Record<string, string>;
  resource_attributes: Record<string, string>;
  events: { time_unix_nano: string; name: string; attributes: Record<string, string> }[];
  links: { trace_id: string; span_id: string }[];
  children: SpanNode[];
}

export interface TraceTree {
  trace_id: string;
  start_time_unix_nano: string;
  end_time_unix_nano: string;
  duration_ms: number;
  span_count: number;
  error_count: number;
  services: string[];
  /** Spans without a parent in this trace (normally one; more when parents were not received). */
  roots: SpanNode[];
}

function nsToMs(ns: bigint): number {
  return Number(ns / 1_000n) / 1_000;
}

function isError(status: string): boolean {
  return status === 'Error' || status === 'STATUS_CODE_ERROR' || status === '2';
}

/**
 * Builds the span tree of one trace. Spans whose parent is absent become roots (a trace is often seen
 * partially); children are ordered by start time.
 */
export function buildTraceTree(traceId: string, rows: readonly SpanRow[]): TraceTree {
  const starts = rows.map((r) => BigInt(r.start_time_unix_nano));
  const ends = rows.map((r, i) => (starts[i] ?? 0n) + BigInt(r.duration_ns));
  const traceStart = starts.reduce((a, b) => (b < a ? b : a), starts[0] ?? 0n);
  const traceEnd = ends.reduce((a, b) => (b > a ? b : a), ends[0] ?? 0n);

  const nodes = new Map<string, SpanNode>();
  rows.forEach((r, i) => {
    const start = starts[i] ?? 0n;
    nodes.set(r.span_id, {
      span_id: r.span_id,
      parent_span_id: r.parent_span_id,
      name: r.name,
      kind: r.kind,
      service: r.service,
      start_time_unix_nano: r.start_time_unix_nano,
      end_time_unix_nano: (ends[i] ?? start).toString(),
      duration_ns: r.duration_ns,
      duration_ms: nsToMs(BigInt(r.duration_ns)),
      offset_ms: nsToMs(start - traceStart),
      status_code: r.status_code,
      status_message: r.status_message,
      attributes: r.span_attributes,
      resource_attributes: r.resource_attributes,
      events: r.event_names.map((name, j) => ({
        time_unix_nano: r.event_times[j] ?? '0',
        name,
        attributes: r.event_attributes[j] ?? {},
      })),
      links: r.link_trace_ids.map((t, j) => ({ trace_id: t, span_id: r.link_span_ids[j] ?? '' })),
      children: [],
    });
  });

  // A span whose ancestry loops back to itself (corrupt parent ids) is shown as a root rather than lost.
  const inCycle = (node: SpanNode): boolean => {
    const seen = new Set<string>([node.span_id]);
    for (let p = nodes.get(node.parent_span_id); p !== undefined; p = nodes.get(p.parent_span_id)) {
      if (seen.has(p.span_id)) return true;
      seen.add(p.span_id);
    }
    return false;
  };
  const roots: SpanNode[] = [];
  for (const node of nodes.values()) {
    const parent = node.parent_span_id === '' ? undefined : nodes.get(node.parent_span_id);
    (parent && !inCycle(node) ? parent.children : roots).push(node);
  }
  const byStart = (a: SpanNode, b: SpanNode) => {
    const d = BigInt(a.start_time_unix_nano) - BigInt(b.start_time_unix_nano);
    return d < 0n ? -1 : d > 0n ? 1 : a.span_id.localeCompare(b.span_id);
  };
  const sortDeep = (list: SpanNode[]) => {
    list.sort(byStart);
    for (const n of list) sortDeep(n.children);
  };
  sortDeep(roots);

  return {
    trace_id: traceId,
    start_time_unix_nano: traceStart.toString(),
    end_time_unix_nano: traceEnd.toString(),
    duration_ms: nsToMs(traceEnd - traceStart),
    span_count: rows.length,
    error_count: rows.filter((r) => isError(r.status_code)).length,
    services: [...new Set(rows.map((r) => r.service))].filter((s) => s !== '').sort(),
    roots,
  };
}
