import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { setCredentials, tryCredentials, whenUnauthorized } from './api';
import { ErrorNote } from './components';
import { loadCredentials, saveCredentials, type Credentials, type Scheme } from './credentials';
import { errorText } from './format';
import { AlertsPage } from './pages/alerts';
import { LoginPage } from './pages/login';
import { BacktestPage } from './pages/backtest';
import { LogsPage } from './pages/logs';
import { PatternsPage } from './pages/patterns';
import { ServicesPage } from './pages/services';
import { TracePage } from './pages/trace';
import { hrefOf, parseRoute, type Route } from './route';

type Session =
  { state: 'checking' } | { state: 'login'; scheme: Scheme } | { state: 'in'; authenticated: boolean };

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

function App() {
  const [session, setSession] = useState<Session>({ state: 'checking' });
  const [error, setError] = useState<string>();
  const route = useRoute();

  useEffect(() => {
    whenUnauthorized((scheme) => {
      saveCredentials(sessionStorage);
      setCredentials(undefined);
      setSession({ state: 'login', scheme });
    });
    const stored = loadCredentials(sessionStorage);
    // Stored credentials first; with none (or stale ones) the API's 401 says which scheme to ask for.
    tryCredentials(stored).then(
      (ok) => {
        if (ok) setSession({ state: 'in', authenticated: stored !== undefined });
      },
      (e: unknown) => setError(`Cannot reach the StackLens API: ${errorText(e)}`),
    );
  }, []);

  const login = async (c: Credentials): Promise<boolean> => {
    if (!(await tryCredentials(c))) return false;
    saveCredentials(sessionStorage, c);
    setSession({ state: 'in', authenticated: true });
    return true;
  };
  const logout = () => {
    saveCredentials(sessionStorage);
    setCredentials(undefined);
    location.reload();
  };

  if (session.state === 'checking')
    return (
      <main class="center">{error === undefined ? <p>Connecting…</p> : <ErrorNote error={error} />}</main>
    );
  if (session.state === 'login') return <LoginPage scheme={session.scheme} login={login} />;

  const nav: [Route['page'], string][] = [
    ['alerts', 'Alerts'],
    ['logs', 'Logs'],
    ['trace', 'Trace'],
    ['services', 'Services'],
    ['patterns', 'Patterns'],
    ['backtest', 'Backtest'],
  ];
  return (
    <>
      <header class="top">
        <span class="brand">StackLens</span>
        <nav aria-label="Pages">
          {nav.map(([page, label]) => (
            <a
              key={page}
              href={
                page === 'logs' ? hrefOf({ page, params: {} }) : page === 'trace' ? '#/trace/' : `#/${page}`
              }
              aria-current={route.page === page ? 'page' : undefined}
            >
              {label}
            </a>
          ))}
        </nav>
        {session.authenticated && (
          <button type="button" class="link" onClick={logout}>
            Log out
          </button>
        )}
      </header>
      <main>
        {route.page === 'alerts' && <AlertsPage />}
        {route.page === 'logs' && <LogsPage params={route.params} />}
        {route.page === 'trace' && <TracePage key={route.traceId} traceId={route.traceId} />}
        {route.page === 'services' && <ServicesPage />}
        {route.page === 'patterns' && <PatternsPage />}
        {route.page === 'backtest' && <BacktestPage />}
      </main>
    </>
  );
}

const root = document.getElementById('app');
if (root !== null) render(<App />, root);
