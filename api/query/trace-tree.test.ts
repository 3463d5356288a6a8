import { buildTraceTree } from './trace-tree';
import type { SpanRow } from './traces-sql';

function span(
  id: string,
  parent: string,
  startMs: number,
  durationMs: number,
  extra: Partial<SpanRow> = {},
): SpanRow {
  return {
    trace_id: 't',
    span_id: id,
    parent_span_id: parent,
    name: `op-${id}`,
    kind: 'Server',
    service: 'svc',
    start_time_unix_nano: (BigInt(startMs) * 1_000_000n + 1_700_000_000_000_000_000n).toString(),
    duration_ns: (BigInt(durationMs) * 1_000_000n).toString(),
    status_code: 'Unset',
    status_message: '',
    span_attributes: {},
    resource_attributes: {},
    event_times: [],
    event_names: [],
    event_attributes: [],
    link_trace_ids: [],
    link_span_ids: [],
    ...extra,
  };
}

describe('buildTraceTree', () => {
  it('nests children under parents in start order with offsets from the trace start', () => {
    const tree = buildTraceTree('t', [
      span('c2', 'root', 30, 10),
      span('root', '', 0, 100),
      span('c1', 'root', 10, 5, { service: 'db', status_code: 'Error' }),
      span('g', 'c1', 12, 1),
    ]);
    expect(tree.roots.map((r) => r.span_id)).toEqual(['root']);
    const root = tree.roots[0]!;
    expect(root.children.map((c) => c.span_id)).toEqual(['c1', 'c2']);
    expect(root.children[0]!.children.map((c) => c.span_id)).toEqual(['g']);
    expect(root.children[1]!.offset_ms).toBe(30);
    expect(root.children[1]!.duration_ms).toBe(10);
    expect(tree).toMatchObject({ span_count: 4, error_count: 1, duration_ms: 100, services: ['db', 'svc'] });
  });

  it('shows spans with a missing parent, or in a parent cycle, as roots rather than losing them', () => {
    const tree = buildTraceTree('t', [
      span('a', 'missing', 0, 1),
      span('x', 'y', 1, 1),
      span('y', 'x', 2, 1),
      span('s', 's', 3, 1),
    ]);
    const ids = (nodes: typeof tree.roots): string[] => nodes.flatMap((n) => [n.span_id, ...ids(n.children)]);
    expect(ids(tree.roots).sort()).toEqual(['a', 's', 'x', 'y']);
  });

  it('carries events and links', () => {
    const tree = buildTraceTree('t', [
      span('a', '', 0, 1, {
        event_names: ['exception'],
        event_times: ['5'],
        event_attributes: [{ 'exception.message': 'boom' }],
        link_trace_ids: ['u'],
        link_span_ids: ['v'],
      }),
    ]);
    expect(tree.roots[0]!.events).toEqual([
      { time_unix_nano: '5', name: 'exception', attributes: { 'exception.message': 'boom' } },
    ]);
    expect(tree.roots[0]!.links).toEqual([{ trace_id: 'u', span_id: 'v' }]);
  });
});
