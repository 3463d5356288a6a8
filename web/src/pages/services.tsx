import { useEffect, useRef, useState } from 'preact/hooks';
import { getJson, getJsonAnyStatus, getText } from '../api';
import { ErrorNote, useInterval } from '../components';
import { errorText, timeOfMs } from '../format';
import { sumMetrics } from '../prometheus';

interface Service {
  service: string;
  log_count: number;
  error_log_count: number;
  span_count: number;
  error_span_count: number;
  error_rate: number;
  last_seen: string;
}

interface Workflow {
  workflow_id: string;
  last_activity: string;
  log_count: number;
  error_count: number;
  services: string[];
  last_severity_text: string;
  last_message: string;
}

interface Readiness {
  status: string;
  checks: Record<string, { ok: boolean; error?: string }>;
}

const LAG = 'stacklens_topology_consumer_lag';
const PROCESSED = 'stacklens_topology_records_processed_total';
const DLQ = 'stacklens_topology_dlq_records_total';
const POLL_MS = 5_000;
/** Samples the chart keeps (an hour at one per POLL_MS). */
const MAX_SAMPLES = 720;

/** Figures of /metrics over time: seconds, records per second, consumer lag. */
export type Series = [number[], (number | null)[], number[]];

/** Services and workflows, pipeline health from /ready and key /metrics figures with a chart. */
export function ServicesPage() {
  const [services, setServices] = useState<Service[]>();
  const [workflows, setWorkflows] = useState<Workflow[]>();
  const [ready, setReady] = useState<Readiness>();
  const [figures, setFigures] = useState<{ lag: number; rate: number | null; dlq: number }>();
  const [error, setError] = useState<string>();
  const series = useRef<Series>([[], [], []]);
  const previous = useRef<{ t: number; processed: number }>();
  const [samples, setSamples] = useState(0);

  useInterval(() => {
    Promise.all([
      getJson<{ services: Service[] }>('api/services', { window: '1h' }),
      getJson<{ workflows: Workflow[] }>('api/workflows', { window: '24h', limit: '50' }),
      getJsonAnyStatus<Readiness>('ready'),
      getText('metrics'),
    ]).then(
      ([s, w, r, metrics]) => {
        setError(undefined);
        setServices(s.services);
        setWorkflows(w.workflows);
        setReady(r);
        const sums = sumMetrics(metrics, [LAG, PROCESSED, DLQ]);
        const t = Date.now() / 1000;
        const processed = sums[PROCESSED] ?? 0;
        const prior = previous.current;
        // A restart resets the counter: no rate for that interval rather than a negative one.
        const rate =
          prior === undefined || processed < prior.processed
            ? null
            : (processed - prior.processed) / (t - prior.t);
        previous.current = { t, processed };
        const [ts, rates, lags] = series.current;
        ts.push(t);
        rates.push(rate);
        lags.push(sums[LAG] ?? 0);
        if (ts.length > MAX_SAMPLES) for (const column of series.current) column.shift();
        setFigures({ lag: sums[LAG] ?? 0, rate, dlq: sums[DLQ] ?? 0 });
        setSamples(ts.length);
      },
      (e: unknown) => setError(errorText(e)),
    );
  }, POLL_MS);

  return (
    <section aria-labelledby="services-title">
      <div class="page-head">
        <h1 id="services-title">Services and pipeline</h1>
        {ready !== undefined && (
          <span
            class={`badge ${ready.status === 'ready' ? 'ok' : 'sev-error'}`}
            role="status"
            data-ready={ready.status}
          >
            {ready.status === 'ready' ? 'pipeline ready' : 'pipeline not ready'}
          </span>
        )}
      </div>
      <ErrorNote error={error} />
      <div class="cards">
        <div class="card">
          <span class="label">Consumer lag</span>
          <span class="figure" data-figure="lag">
            {figures === undefined ? '…' : figures.lag.toLocaleString()}
          </span>
        </div>
        <div class="card">
          <span class="label">Records per second</span>
          <span class="figure" data-figure="rate">
            {figures?.rate == null ? '…' : figures.rate.toFixed(1)}
          </span>
        </div>
        <div class="card">
          <span class="label">Dead letters</span>
          <span class="figure" data-figure="dlq">
            {figures === undefined ? '…' : figures.dlq.toLocaleString()}
          </span>
        </div>
      </div>
      <Chart series={series.current} samples={samples} />
      {ready !== undefined && (
        <ul class="checks" aria-label="Readiness checks">
          {Object.entries(ready.checks).map(([name, check]) => (
            <li key={name} class={check.ok ? 'ok' : 'bad'}>
              {check.ok ? '✓' : '✗'} {name}
              {check.error !== undefined ? `: ${check.error}` : ''}
            </li>
          ))}
        </ul>
      )}
      <h2>Services (last hour)</h2>
      {services !== undefined && services.length === 0 && (
        <p class="empty">No service seen in the last hour.</p>
      )}
      {services !== undefined && services.length > 0 && (
        <table class="grid" aria-label="Services">
          <thead>
            <tr>
              <th scope="col">Service</th>
              <th scope="col">Logs</th>
              <th scope="col">Error logs</th>
              <th scope="col">Spans</th>
              <th scope="col">Error spans</th>
              <th scope="col">Error ratio</th>
              <th scope="col">Last seen</th>
            </tr>
          </thead>
          <tbody>
            {services.map((s) => (
              <tr key={s.service} data-service={s.service}>
                <td>
                  <a href={`#/logs?service=${encodeURIComponent(s.service)}`}>{s.service}</a>
                </td>
                <td class="num">{s.log_count}</td>
                <td class="num">{s.error_log_count}</td>
                <td class="num">{s.span_count}</td>
                <td class="num">{s.error_span_count}</td>
                <td class="num">{(s.error_rate * 100).toFixed(1)} %</td>
                <td class="nowrap">{timeOfMs(Date.parse(s.last_seen))}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Workflows (last 24 hours)</h2>
      {workflows !== undefined && workflows.length === 0 && <p class="empty">No workflow active.</p>}
      {workflows !== undefined && workflows.length > 0 && (
        <table class="grid" aria-label="Workflows">
          <thead>
            <tr>
              <th scope="col">Workflow</th>
              <th scope="col">Services</th>
              <th scope="col">Logs</th>
              <th scope="col">Errors</th>
              <th scope="col">Last activity</th>
              <th scope="col">Last message</th>
            </tr>
          </thead>
          <tbody>
            {workflows.map((w) => (
              <tr key={w.workflow_id}>
                <td>
                  <a href={`#/logs?workflow_id=${encodeURIComponent(w.workflow_id)}`}>{w.workflow_id}</a>
                </td>
                <td>{w.services.join(', ')}</td>
                <td class="num">{w.log_count}</td>
                <td class="num">{w.error_count}</td>
                <td class="nowrap">{timeOfMs(Date.parse(w.last_activity))}</td>
                <td>
                  <span class={`badge lvl-${w.last_severity_text.toLowerCase()}`}>
                    {w.last_severity_text}
                  </span>{' '}
                  {w.last_message}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** uPlot, loaded with the first chart (it is most of the console's code, and only this page needs it). */
function Chart(props: { series: Series; samples: number }) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<{ setData(d: Series): void; destroy(): void }>();
  useEffect(() => {
    let cancelled = false;
    void import('../chart').then(({ metricsChart }) => {
      if (cancelled || host.current === null) return;
      plot.current = metricsChart(host.current, props.series);
    });
    return () => {
      cancelled = true;
      plot.current?.destroy();
    };
  }, []);
  useEffect(() => plot.current?.setData(props.series), [props.samples, props.series]);
  return (
    <div class="chart" ref={host} role="img" aria-label="Records per second and consumer lag over time" />
  );
}
