import { useEffect, useRef, useState } from 'preact/hooks';
import { getJson } from '../api';
import { Attributes, ErrorNote, LiveBadge, VirtualList } from '../components';
import { errorText, levelClass, timeOfNanos } from '../format';
import { openLive, type LiveStatus } from '../live';
import { filterParams, formOf, PAGE_SIZES, PRESETS, rangeParams, type LogForm } from '../logs-query';
import { NewestFirst } from '../ring';
import { hrefOf } from '../route';
import { LEVELS, type Log, type LogPage } from '../types';

/** Records a live tail keeps (newest first); older ones leave the page, counted. */
const TAIL_CAPACITY = 5_000;
/** A live tail renders at most this often, however fast records arrive. */
const TAIL_RENDER_MS = 250;
const ROW_HEIGHT = 28;

/** Log search over /api/logs (every filter, cursor paging) and a live tail over /ws/logs with the same filters. */
export function LogsPage(props: { params: Record<string, string> }) {
  const applied = formOf(props.params);
  const [form, setForm] = useState<LogForm>(applied);
  const [logs, setLogs] = useState<readonly Log[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string>();
  const [selected, setSelected] = useState<Log>();
  const [tail, setTail] = useState(false);
  const [status, setStatus] = useState<LiveStatus>('closed');
  const [dropped, setDropped] = useState(0);
  const key = JSON.stringify(applied);
  const abort = useRef<AbortController>();

  const fetchPage = async (after: string | null) => {
    const filters = filterParams(applied);
    if (filters.error !== undefined) {
      setError(filters.error);
      return;
    }
    abort.current?.abort();
    const controller = new AbortController();
    abort.current = controller;
    setLoading(true);
    try {
      const page = await getJson<LogPage>(
        'api/logs',
        {
          ...filters.params,
          ...rangeParams(applied, Date.now()),
          limit: applied.limit,
          cursor: after ?? undefined,
        },
        controller.signal,
      );
      setError(undefined);
      setLogs((prior) => (after === null ? page.logs : prior.concat(page.logs)));
      setCursor(page.next_cursor);
    } catch (e) {
      if (!controller.signal.aborted) setError(errorText(e));
    } finally {
      if (abort.current === controller) setLoading(false);
    }
  };

  // A new search whenever the filters in the URL change (the form writes them there).
  useEffect(() => {
    setForm(applied);
    setSelected(undefined);
    if (!tail) void fetchPage(null);
    return () => abort.current?.abort();
  }, [key, tail]);

  // The live tail: records batched into a bounded buffer, rendered a few times a second at most.
  useEffect(() => {
    if (!tail) return;
    const filters = filterParams(applied);
    if (filters.error !== undefined) {
      setError(filters.error);
      return;
    }
    const ring = new NewestFirst<Log>(TAIL_CAPACITY);
    setLogs([]);
    setCursor(null);
    const timer = setInterval(() => {
      if (ring.flush()) {
        setLogs(ring.view);
        setDropped(ring.dropped);
      }
    }, TAIL_RENDER_MS);
    const close = openLive<Log>('ws/logs', filters.params, {
      onData: (log) => ring.push(log),
      onStatus: (s) => setStatus(s),
    });
    return () => {
      clearInterval(timer);
      close();
      setStatus('closed');
      setDropped(0);
    };
  }, [key, tail]);

  const set = (field: keyof LogForm) => (e: Event) =>
    setForm({ ...form, [field]: (e.currentTarget as HTMLInputElement).value });
  const submit = (e: Event) => {
    e.preventDefault();
    const next = hrefOf({ page: 'logs', params: { ...form } });
    if (location.hash === next) void fetchPage(null);
    else location.hash = next;
  };

  return (
    <section aria-labelledby="logs-title">
      <div class="page-head">
        <h1 id="logs-title">Logs</h1>
        <label class="toggle">
          <input
            type="checkbox"
            name="tail"
            checked={tail}
            onChange={(e) => setTail(e.currentTarget.checked)}
          />
          Live tail
        </label>
        {tail && <LiveBadge status={status} />}
        {tail && dropped > 0 && <span class="hint">{dropped} older records left the buffer</span>}
      </div>
      <form class="filters" onSubmit={submit}>
        <label>
          Service
          <input name="service" value={form.service} onInput={set('service')} />
        </label>
        <label>
          Level (minimum)
          <select name="level" value={form.level} onChange={set('level')}>
            <option value="">any</option>
            {LEVELS.map((l) => (
              <option key={l} value={l}>
                {l}
              </option>
            ))}
          </select>
        </label>
        <label>
          Time range
          <select name="range" value={form.range} onChange={set('range')} disabled={tail}>
            {Object.keys(PRESETS).map((p) => (
              <option key={p} value={p}>
                last {p}
              </option>
            ))}
            <option value="custom">custom</option>
          </select>
        </label>
        {form.range === 'custom' && (
          <>
            <label>
              From
              <input name="start" type="datetime-local" step="1" value={form.start} onInput={set('start')} />
            </label>
            <label>
              To
              <input name="end" type="datetime-local" step="1" value={form.end} onInput={set('end')} />
            </label>
          </>
        )}
        <label>
          Workflow
          <input name="workflow_id" value={form.workflow_id} onInput={set('workflow_id')} />
        </label>
        <label>
          Trace id
          <input name="trace_id" value={form.trace_id} onInput={set('trace_id')} />
        </label>
        <label>
          Attributes
          <input
            name="attributes"
            placeholder="circuit_id=c-1, user.id=42"
            value={form.attributes}
            onInput={set('attributes')}
          />
        </label>
        <label>
          Page size
          <select name="limit" value={form.limit} onChange={set('limit')} disabled={tail}>
            {PAGE_SIZES.map((size) => (
              <option key={size} value={size}>
                {size}
              </option>
            ))}
          </select>
        </label>
        <label class="wide">
          Text
          <input name="q" type="search" value={form.q} onInput={set('q')} />
        </label>
        <button type="submit">{tail ? 'Apply' : 'Search'}</button>
      </form>
      <ErrorNote error={error} />
      <div class="split">
        <div class="list-pane">
          <p class="hint" aria-live="polite">
            {loading ? 'Searching…' : `${logs.length} records${tail ? ' (newest first, live)' : ''}`}
          </p>
          <VirtualList
            items={logs}
            rowHeight={ROW_HEIGHT}
            height={520}
            label="Log records"
            render={(log) => (
              <div key={log.id} role="listitem">
                <button
                  type="button"
                  class={`log-row${selected?.id === log.id ? ' selected' : ''}`}
                  style={{ height: `${ROW_HEIGHT}px` }}
                  data-log-id={log.id}
                  aria-pressed={selected?.id === log.id}
                  onClick={() => setSelected(log)}
                >
                  <span class="nowrap mono">{timeOfNanos(log.time_unix_nano)}</span>
                  <span class={`badge lvl-${levelClass(log.severity_number)}`}>
                    {log.severity_text || '—'}
                  </span>
                  <span class="svc">{log.service}</span>
                  <span class="body">{log.body}</span>
                </button>
              </div>
            )}
          />
          {!tail && cursor !== null && (
            <button type="button" onClick={() => void fetchPage(cursor)} disabled={loading}>
              Load older
            </button>
          )}
        </div>
        {selected !== undefined && <LogDetail log={selected} onClose={() => setSelected(undefined)} />}
      </div>
    </section>
  );
}

export function LogDetail(props: { log: Log; onClose: () => void }) {
  const { log } = props;
  return (
    <aside class="detail" aria-label="Log record">
      <div class="page-head">
        <h2>Log record</h2>
        <button type="button" class="link" onClick={props.onClose}>
          Close
        </button>
      </div>
      <p class="mono">{timeOfNanos(log.time_unix_nano)}</p>
      <pre class="log-body">{log.body}</pre>
      <dl class="facts">
        <dt>Service</dt>
        <dd>{log.service}</dd>
        <dt>Severity</dt>
        <dd>
          {log.severity_text} ({log.severity_number})
        </dd>
        {log.trace_id !== '' && (
          <>
            <dt>Trace</dt>
            <dd>
              <a class="mono" href={`#/trace/${log.trace_id}`}>
                {log.trace_id}
              </a>
            </dd>
            <dt>Span</dt>
            <dd class="mono">{log.span_id}</dd>
          </>
        )}
      </dl>
      <Attributes title="Log attributes" values={log.log_attributes} />
      <Attributes title="Resource attributes" values={log.resource_attributes} />
      <Attributes title="Scope attributes" values={log.scope_attributes} />
    </aside>
  );
}
