import { useState } from 'preact/hooks';
import { BacktestReportError, parseBacktestReport, type BacktestReport } from '../backtest-report';
import { ErrorNote } from '../components';
import { errorText, timeOfMs } from '../format';

/**
 * A rule backtest's result: the JSON report of `stacklens rules backtest --format json`, picked as a
 * file or pasted, rendered per rule with the alerts it would have raised. The report stays in the
 * page; nothing is sent to the API (a backtest reads whole topics, which a request should not start).
 */
export function BacktestPage() {
  const [text, setText] = useState('');
  const [report, setReport] = useState<BacktestReport>();
  const [error, setError] = useState<string>();

  const show = (t: string) => {
    try {
      setReport(parseBacktestReport(t));
      setError(undefined);
    } catch (e) {
      setReport(undefined);
      setError(e instanceof BacktestReportError ? `Not a backtest report: ${e.message}` : errorText(e));
    }
  };

  return (
    <section aria-labelledby="backtest-title">
      <div class="page-head">
        <h1 id="backtest-title">Rule backtest</h1>
      </div>
      <p>
        Run <code>stacklens rules backtest --rules rules.json --from … --format json &gt; report.json</code>,
        then open the report here.
      </p>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          show(text);
        }}
      >
        <label>
          Report file
          <input
            type="file"
            name="report-file"
            accept="application/json,.json"
            onChange={(e) => {
              const file = (e.currentTarget as HTMLInputElement).files?.[0];
              if (file === undefined) return;
              file.text().then(
                (t) => {
                  setText(t);
                  show(t);
                },
                (err: unknown) => setError(errorText(err)),
              );
            }}
          />
        </label>
        <label class="wide">
          or paste it
          <textarea
            name="report"
            rows={4}
            value={text}
            onInput={(e) => setText((e.currentTarget as HTMLTextAreaElement).value)}
          />
        </label>
        <button type="submit">Show</button>
      </form>
      <ErrorNote error={error} />
      {report !== undefined && <Report report={report} />}
    </section>
  );
}

function Report(props: { report: BacktestReport }) {
  const { report } = props;
  const fired = report.rules.filter((r) => r.alerts.length > 0).length;
  return (
    <>
      <p role="status" data-summary>
        {report.logs.toLocaleString()} logs and {report.spans.toLocaleString()} spans replayed; {fired} of{' '}
        {report.rules.length} rules would have fired.
      </p>
      {report.rules.map((rule) => (
        <div key={rule.rule_id} data-rule-id={rule.rule_id}>
          <h2>
            {rule.rule_id} <span class="badge">{rule.type}</span>{' '}
            <span class="count">
              {rule.alerts.length} alert{rule.alerts.length === 1 ? '' : 's'}
            </span>
          </h2>
          {rule.alerts.length > 0 && (
            <table class="grid" aria-label={`Alerts of ${rule.rule_id}`}>
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Severity</th>
                  <th scope="col">Service</th>
                  <th scope="col">Count</th>
                  <th scope="col">Message</th>
                </tr>
              </thead>
              <tbody>
                {rule.alerts.map((a) => (
                  <tr key={a.id} data-alert-id={a.id}>
                    <td class="nowrap">{timeOfMs(Date.parse(a.created_at))}</td>
                    <td>
                      <span class={`badge sev-${a.severity}`}>{a.severity}</span>
                    </td>
                    <td>{a.service || '–'}</td>
                    <td class="num">{a.count}</td>
                    <td>{a.message}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      ))}
    </>
  );
}
