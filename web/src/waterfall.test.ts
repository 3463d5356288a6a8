import { waterfallRows, type SpanNode } from './waterfall';

const span = (
  id: string,
  offset: number,
  duration: number,
  children: SpanNode[] = [],
  status = 'Ok',
): SpanNode => ({
  span_id: id,
  parent_span_id: '',
  name: id,
  kind: 'Server',
  service: 's',
  start_time_unix_nano: '0',
  duration_ms: duration,
  offset_ms: offset,
  status_code: status,
  status_message: '',
  attributes: {},
  resource_attributes: {},
  events: [],
  children,
});

describe('waterfallRows', () => {
  it('lists spans depth first with bars relative to the trace', () => {
    const tree = [
      span('root', 0, 100, [span('a', 10, 20, [span('a1', 15, 5)]), span('b', 50, 50, [], 'Error')]),
    ];
    const rows = waterfallRows(tree, 100);
    expect(rows.map((r) => [r.span.span_id, r.depth])).toEqual([
      ['root', 0],
      ['a', 1],
      ['a1', 2],
      ['b', 1],
    ]);
    expect(rows[1]).toMatchObject({ left: 10, width: 20, error: false });
    expect(rows[3]).toMatchObject({ left: 50, width: 50, error: true });
  });

  it('keeps instant spans visible and survives a zero-length trace', () => {
    const [row] = waterfallRows([span('x', 0, 0)], 0);
    expect(row!.width).toBeGreaterThan(0);
  });
});
