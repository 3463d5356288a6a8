import { useEffect, useRef, useState } from 'preact/hooks';
import { getJson } from '../api';
import { ErrorNote, LiveBadge } from '../components';
import { errorText, timeOfMs } from '../format';
import { openLive, type LiveStatus } from '../live';
import { NewestFirst } from '../ring';
import type { Alert } from '../types';

/** Alerts kept on the page: the history page plus what arrives live. */
const MAX_ALERTS = 1_000;

/** Alerts: the history from /api/alerts, then new ones from /ws/alerts as they fire, with the same filters. */
export function AlertsPage() {
  const [severity, setSeverity] = useState('');
  const [service, setService] = useState('');
  const [applied, setApplied] = useState({ severity: '', service: '' });
  const [alerts, setAlerts] = useState<readonly Alert[]>([]);
  const [status, setStatus] = useState<LiveStatus>('connecting');
  const [error, setError] = useState<string>();
  const [loaded, setLoaded] = useState(false);
  const ring = useRef(new NewestFirst<Alert>(MAX_ALERTS));

  useEffect(() => {
    const buffer = ring.current;
    buffer.clear();
    setAlerts([]);
    setLoaded(false);
    // Ids already shown, so a reconnect's history reload adds no duplicates; bounded like the list.
    let seen = new Set<string>();
    const remember = (id: string) => {
      if (seen.size >= 2 * MAX_ALERTS) seen = new Set(buffer.view.map((a) => a.id));
      seen.add(id);
    };
    const abort = new AbortController();
    const params = { severity: applied.severity, service: applied.service };
    const loadHistory = () =>
      getJson<{ alerts: Alert[] }>('api/alerts', { ...params, limit: '200' }, abort.signal).then(
        (page) => {
          setError(undefined);
          setLoaded(true);
          // Oldest first into the ring, so the newest ends up in front; live ones already shown stay.
          for (const a of [...page.alerts].reverse()) {
            if (seen.has(a.id)) continue;
            remember(a.id);
            buffer.push(a);
          }
          if (buffer.flush()) show();
        },
        (e: unknown) => {
          if (!abort.signal.aborted) setError(errorText(e));
        },
      );
    // History and live alerts arrive in any order (a reconnect reloads older ones): shown newest first.
    const show = () => setAlerts([...buffer.view].sort((a, b) => b.created_at.localeCompare(a.created_at)));
    let frame = 0;
    const close = openLive<Alert>('ws/alerts', params, {
      onData: (a) => {
        if (seen.has(a.id)) return;
        remember(a.id);
        buffer.push(a);
        frame ||= requestAnimationFrame(() => {
          frame = 0;
          if (buffer.flush()) show();
        });
      },
      onStatus: (s) => setStatus(s),
      // Each (re)connection reloads the history: what fired while the socket was away is there.
      onOpen: () => void loadHistory(),
    });
    return () => {
      abort.abort();
      cancelAnimationFrame(frame);
      close();
    };
  }, [applied]);

  return (
    <section aria-labelledby="alerts-title">
      <div class="page-head">
        <h1 id="alerts-title">Alerts</h1>
        <LiveBadge status={status} />
      </div>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied({ severity, service: service.trim() });
        }}
      >
        <label>
          Minimum severity
          <select name="severity" value={severity} onChange={(e) => setSeverity(e.currentTarget.value)}>
            <option value="">any</option>
            <option value="info">info</option>
            <option value="warn">warn</option>
            <option value="error">error</option>
          </select>
        </label>
        <label>
          Service
          <input name="service" value={service} onInput={(e) => setService(e.currentTarget.value)} />
        </label>
        <button type="submit">Apply</button>
      </form>
      <ErrorNote error={error} />
      {alerts.length === 0 ? (
        <p class="empty" aria-live="polite">
          {loaded
            ? `No alerts in the last 24 hours${applied.service || applied.severity ? ' with these filters' : ''}.`
            : 'Loading…'}
        </p>
      ) : (
        <table class="grid alerts">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Severity</th>
              <th scope="col">Issue</th>
              <th scope="col">Service</th>
              <th scope="col">Message</th>
              <th scope="col">Suggested fix</th>
              <th scope="col">Count</th>
              <th scope="col">Trace</th>
            </tr>
          </thead>
          <tbody>
            {alerts.map((a) => (
              <tr key={a.id} data-alert-id={a.id} data-issue={a.issue_code}>
                <td class="nowrap">{timeOfMs(Date.parse(a.created_at))}</td>
                <td>
                  <span class={`badge sev-${a.severity}`}>{a.severity}</span>
                </td>
                <td class="mono">{a.issue_code}</td>
                <td>{a.service}</td>
                <td>{a.message}</td>
                <td>{a.suggested_fix}</td>
                <td class="num">{a.count}</td>
                <td>
                  {a.related_trace_id === null ? (
                    '—'
                  ) : (
                    <a class="mono" href={`#/trace/${a.related_trace_id}`} title={a.related_trace_id}>
                      {a.related_trace_id.slice(0, 8)}…
                    </a>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
