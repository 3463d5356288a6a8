import { useState } from 'preact/hooks';
import { getJson } from '../api';
import { ErrorNote, useInterval } from '../components';
import { errorText, timeOfMs } from '../format';
import { bucketSeries, sparkPoints } from '../sparkline';

interface Pattern {
  pattern_id: number;
  template: string;
  first_seen: string;
  count: number;
  bucket_seconds: number;
  buckets: { start: string; count: number }[];
}

interface ServicePatterns {
  service: string;
  patterns: Pattern[];
}

const POLL_MS = 10_000;
/** Sparkline slots: the API's newest buckets (RECENT_BUCKETS in api/query/patterns-sql.ts). */
const SLOTS = 60;

/** Mined log patterns per service over the last hour (/api/patterns), most frequent first. */
export function PatternsPage() {
  const [services, setServices] = useState<ServicePatterns[]>();
  const [error, setError] = useState<string>();
  const [service, setService] = useState('');
  const [applied, setApplied] = useState('');

  useInterval(
    () => {
      const start = new Date(Date.now() - 3_600_000).toISOString();
      getJson<{ services: ServicePatterns[] }>('api/patterns', {
        start_time: start,
        service: applied === '' ? undefined : applied,
        limit: '50',
      }).then(
        (r) => {
          setError(undefined);
          setServices(r.services);
        },
        (e: unknown) => setError(errorText(e)),
      );
    },
    POLL_MS,
    [applied],
  );

  return (
    <section aria-labelledby="patterns-title">
      <div class="page-head">
        <h1 id="patterns-title">Log patterns (last hour)</h1>
      </div>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied(service.trim());
        }}
      >
        <label>
          Service
          <input
            name="service"
            value={service}
            onInput={(e) => setService((e.currentTarget as HTMLInputElement).value)}
          />
        </label>
        <button type="submit">Apply</button>
      </form>
      <ErrorNote error={error} />
      {services !== undefined && services.length === 0 && (
        <p class="empty">No pattern mined in the last hour.</p>
      )}
      {services?.map((s) => (
        <div key={s.service} data-service={s.service}>
          <h2>
            <a href={`#/logs?service=${encodeURIComponent(s.service)}`}>{s.service}</a>
          </h2>
          <table class="grid" aria-label={`Patterns of ${s.service}`}>
            <thead>
              <tr>
                <th scope="col">Template</th>
                <th scope="col">Count</th>
                <th scope="col">Per bucket</th>
                <th scope="col">First seen</th>
              </tr>
            </thead>
            <tbody>
              {s.patterns.map((p) => (
                <tr key={p.pattern_id} data-pattern-id={p.pattern_id}>
                  <td class="template">
                    <code>{p.template}</code>
                  </td>
                  <td class="num">{p.count.toLocaleString()}</td>
                  <td>
                    <Sparkline pattern={p} />
                  </td>
                  <td class="nowrap">{timeOfMs(Date.parse(p.first_seen))}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
    </section>
  );
}

function Sparkline(props: { pattern: Pattern }) {
  const { pattern } = props;
  const series = bucketSeries(pattern.buckets, pattern.bucket_seconds * 1000, SLOTS);
  const title = `${series.join(', ')} per ${pattern.bucket_seconds} s, oldest first`;
  return (
    <svg class="spark" width="120" height="24" viewBox="-1 -1 122 26" role="img" aria-label={title}>
      <title>{title}</title>
      <polyline points={sparkPoints(series.length === 1 ? [series[0]!, series[0]!] : series, 120, 24)} />
    </svg>
  );
}
