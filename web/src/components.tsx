import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { LiveStatus } from './live';

/**
 * A list that renders only the rows in view (plus a margin): thousands of rows cost a few dozen nodes.
 * Rows have one fixed height, which keeps the arithmetic exact and scrolling cheap.
 */
export function VirtualList<T>(props: {
  items: readonly T[];
  rowHeight: number;
  height: number;
  label: string;
  render: (item: T, index: number) => ComponentChildren;
}) {
  const [scrollTop, setScrollTop] = useState(0);
  const overscan = 10;
  const first = Math.max(0, Math.floor(scrollTop / props.rowHeight) - overscan);
  const last = Math.min(
    props.items.length,
    Math.ceil((scrollTop + props.height) / props.rowHeight) + overscan,
  );
  const rows: ComponentChildren[] = [];
  for (let i = first; i < last; i++) rows.push(props.render(props.items[i] as T, i));
  return (
    <div
      class="virtual"
      role="list"
      aria-label={props.label}
      style={{ height: `${props.height}px` }}
      onScroll={(e) => setScrollTop((e.currentTarget as HTMLElement).scrollTop)}
    >
      <div style={{ height: `${props.items.length * props.rowHeight}px`, position: 'relative' }}>
        <div style={{ transform: `translateY(${first * props.rowHeight}px)` }}>{rows}</div>
      </div>
    </div>
  );
}

export function LiveBadge(props: { status: LiveStatus; detail?: string }) {
  return (
    <span class={`live live-${props.status}`} role="status" aria-live="polite" data-live={props.status}>
      {props.status === 'live' ? '● live' : props.status}
      {props.detail !== undefined ? ` (${props.detail})` : ''}
    </span>
  );
}

export function ErrorNote(props: { error: string | undefined }) {
  if (props.error === undefined) return null;
  return (
    <p class="error-note" role="alert">
      {props.error}
    </p>
  );
}

/** Key/value pairs of an attribute map, sorted by key. */
export function Attributes(props: { title: string; values: Record<string, string> | undefined }) {
  const entries = Object.entries(props.values ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return null;
  return (
    <section class="attributes">
      <h4>{props.title}</h4>
      <dl>
        {entries.map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

/** Runs `tick` now and every `ms` while mounted. */
export function useInterval(tick: () => void, ms: number, deps: unknown[] = []) {
  const saved = useRef(tick);
  saved.current = tick;
  useEffect(() => {
    saved.current();
    const id = setInterval(() => saved.current(), ms);
    return () => clearInterval(id);
  }, deps);
}
