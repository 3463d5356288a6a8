import { useState } from 'preact/hooks';
import { ErrorNote } from '../components';
import type { Credentials, Scheme } from '../credentials';
import { errorText } from '../format';

/** The login step: what the API asks for (a bearer token or a user and password), checked before it is kept. */
export function LoginPage(props: { scheme: Scheme; login: (c: Credentials) => Promise<boolean> }) {
  const [token, setToken] = useState('');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const c: Credentials =
        props.scheme === 'token'
          ? { kind: 'token', token: token.trim() }
          : { kind: 'basic', username, password };
      if (!(await props.login(c))) setError('Invalid credentials: the API refused them.');
    } catch (err) {
      setError(`Cannot reach the StackLens API: ${errorText(err)}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="center">
      <form class="login" onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">StackLens</h1>
        <p>This API asks for {props.scheme === 'token' ? 'a bearer token' : 'a user name and password'}.</p>
        {props.scheme === 'token' ? (
          <label>
            Token
            <input
              name="token"
              type="password"
              autoComplete="current-password"
              required
              value={token}
              onInput={(e) => setToken(e.currentTarget.value)}
            />
          </label>
        ) : (
          <>
            <label>
              User
              <input
                name="username"
                autoComplete="username"
                required
                value={username}
                onInput={(e) => setUsername(e.currentTarget.value)}
              />
            </label>
            <label>
              Password
              <input
                name="password"
                type="password"
                autoComplete="current-password"
                required
                value={password}
                onInput={(e) => setPassword(e.currentTarget.value)}
              />
            </label>
          </>
        )}
        <button type="submit" disabled={busy}>
          Log in
        </button>
        <ErrorNote error={error} />
        <p class="hint">Kept for this browser tab only.</p>
      </form>
    </main>
  );
}
