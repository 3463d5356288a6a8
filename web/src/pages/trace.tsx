import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiRequestError, getJson } from '../api';
import { Attributes, ErrorNote } from '../components';
import { duration, errorText, levelClass, timeOfNanos } from '../format';
import type { Log } from '../types';
import { waterfallRows, type SpanNode } from '../waterfall';
import { LogDetail } from './logs';

interface TraceTree {
  trace_id: string;
  start_time_unix_nano: string;
  duration_ms: number;
  span_count: number;
  error_count: number;
  services: string[];
  roots: SpanNode[];
  logs: Log[];
}

interface Correlation {
  services: string[];
  duration_ms: number;
  span_count: number;
  error_count: number;
  log_count: number;
  root_span_name: string;
  first_error_message: string;
  gen_ai_input_tokens: number;
  gen_ai_output_tokens: number;
}

/** A trace: its span waterfall beside its logs in time order, and the correlation summary. */
export function TracePage(props: { traceId: string }) {
  const [input, setInput] = useState(props.traceId);
  const [trace, setTrace] = useState<TraceTree>();
  const [correlation, setCorrelation] = useState<Correlation | null>();
  const [error, setError] = useState<string>();
  const [span, setSpan] = useState<SpanNode>();
  const [log, setLog] = useState<Log>();

  useEffect(() => {
    if (props.traceId === '') return;
    const abort = new AbortController();
    getJson<TraceTree>(`api/traces/${encodeURIComponent(props.traceId)}`, {}, abort.signal).then(
      (t) => {
        setTrace(t);
        setError(undefined);
      },
      (e: unknown) => {
        if (abort.signal.aborted) return;
        setError(
          e instanceof ApiRequestError && e.status === 404
            ? `No spans or logs for trace ${props.traceId} yet.`
            : errorText(e),
        );
      },
    );
    getJson<{ correlations: Correlation[] }>(
      'api/correlations',
      { trace_id: props.traceId, limit: '1' },
      abort.signal,
    ).then(
      (r) => setCorrelation(r.correlations[0] ?? null),
      () => setCorrelation(null),
    );
    return () => abort.abort();
  }, [props.traceId]);

  const rows = useMemo(
    () => (trace === undefined ? [] : waterfallRows(trace.roots, trace.duration_ms)),
    [trace],
  );

  return (
    <section aria-labelledby="trace-title">
      <div class="page-head">
        <h1 id="trace-title">Trace</h1>
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault();
            location.hash = `#/trace/${encodeURIComponent(input.trim())}`;
          }}
        >
          <label>
            Trace id
            <input
              name="trace_id"
              class="mono"
              size={34}
              value={input}
              onInput={(e) => setInput(e.currentTarget.value)}
            />
          </label>
          <button type="submit">Open</button>
        </form>
      </div>
      {props.traceId === '' && <p class="empty">Open a trace by its id, or from an alert or a log.</p>}
      <ErrorNote error={error} />
      {trace !== undefined && (
        <>
          <Summary trace={trace} correlation={correlation} />
          <div class="split">
            <div class="list-pane">
              <h2>Spans</h2>
              <div class="waterfall" role="tree" aria-label="Span tree">
                {rows.map((r) => (
                  <button
                    key={r.span.span_id}
                    type="button"
                    role="treeitem"
                    aria-level={r.depth + 1}
                    aria-selected={span?.span_id === r.span.span_id}
                    class={`span-row${r.error ? ' error' : ''}${span?.span_id === r.span.span_id ? ' selected' : ''}`}
                    data-span-id={r.span.span_id}
                    onClick={() => {
                      setSpan(r.span);
                      setLog(undefined);
                    }}
                  >
                    <span class="span-name" style={{ paddingLeft: `${r.depth * 14}px` }}>
                      {r.error && <span class="badge sev-error">error</span>} {r.span.service} · {r.span.name}
                    </span>
                    <span class="span-track">
                      <span class="span-bar" style={{ left: `${r.left}%`, width: `${r.width}%` }} />
                    </span>
                    <span class="num">{duration(r.span.duration_ms)}</span>
                  </button>
                ))}
              </div>
              <h2>Logs of this trace</h2>
              {trace.logs.length === 0 ? (
                <p class="empty">No logs.</p>
              ) : (
                <ol class="trace-logs" aria-label="Logs of this trace">
                  {trace.logs.map((l) => (
                    <li key={l.id}>
                      <button
                        type="button"
                        class={`log-row${span?.span_id === l.span_id ? ' related' : ''}${log?.id === l.id ? ' selected' : ''}`}
                        onClick={() => {
                          setLog(l);
                          setSpan(undefined);
                        }}
                      >
                        <span class="nowrap mono">{timeOfNanos(l.time_unix_nano)}</span>
                        <span class={`badge lvl-${levelClass(l.severity_number)}`}>
                          {l.severity_text || '—'}
                        </span>
                        <span class="svc">{l.service}</span>
                        <span class="body">{l.body}</span>
                      </button>
                    </li>
                  ))}
                </ol>
              )}
            </div>
            {span !== undefined && <SpanDetail span={span} onClose={() => setSpan(undefined)} />}
            {log !== undefined && <LogDetail log={log} onClose={() => setLog(undefined)} />}
          </div>
        </>
      )}
    </section>
  );
}

function Summary(props: { trace: TraceTree; correlation: Correlation | null | undefined }) {
  const { trace, correlation: c } = props;
  const facts: [string, string][] = [
    ['Started', timeOfNanos(trace.start_time_unix_nano)],
    ['Duration', duration(c?.duration_ms ?? trace.duration_ms)],
    ['Services', (c?.services ?? trace.services).join(', ')],
    ['Spans', String(c?.span_count ?? trace.span_count)],
    ['Errors', String(c?.error_count ?? trace.error_count)],
    ['Logs', String(c?.log_count ?? trace.logs.length)],
  ];
  if (c) facts.push(['Tokens (in / out)', `${c.gen_ai_input_tokens} / ${c.gen_ai_output_tokens}`]);
  if (c?.first_error_message) facts.push(['First error', c.first_error_message]);
  return (
    <dl class="summary" aria-label="Correlation summary">
      {facts.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
      {c === null && (
        <div>
          <dt>Correlation</dt>
          <dd>not emitted yet</dd>
        </div>
      )}
    </dl>
  );
}

function SpanDetail(props: { span: SpanNode; onClose: () => void }) {
  const { span } = props;
  return (
    <aside class="detail" aria-label="Span">
      <div class="page-head">
        <h2>{span.name}</h2>
        <button type="button" class="link" onClick={props.onClose}>
          Close
        </button>
      </div>
      <dl class="facts">
        <dt>Service</dt>
        <dd>{span.service}</dd>
        <dt>Kind</dt>
        <dd>{span.kind}</dd>
        <dt>Status</dt>
        <dd>
          {span.status_code}
          {span.status_message !== '' ? `: ${span.status_message}` : ''}
        </dd>
        <dt>Start</dt>
        <dd>{timeOfNanos(span.start_time_unix_nano)}</dd>
        <dt>Duration</dt>
        <dd>{duration(span.duration_ms)}</dd>
        <dt>Span id</dt>
        <dd class="mono">{span.span_id}</dd>
      </dl>
      <Attributes title="Span attributes" values={span.attributes} />
      <Attributes title="Resource attributes" values={span.resource_attributes} />
      {span.events.length > 0 && (
        <section class="attributes">
          <h4>Events</h4>
          {span.events.map((e, i) => (
            <div key={i} class="event">
              <p>
                <strong>{e.name}</strong> <span class="mono">{timeOfNanos(e.time_unix_nano)}</span>
              </p>
              <Attributes title="" values={e.attributes} />
            </div>
          ))}
        </section>
      )}
    </aside>
  );
}
