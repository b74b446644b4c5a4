import { useEffect, useState } from 'preact/hooks';
import { api, session, SIGNED_OUT_EVENT } from './api';
import { ErrorText } from './components';
import { BASE, navigate } from './router';
import type { Whoami } from './types';
import { KeysPage } from './pages/keys';
import { AgentsPage } from './pages/agents';
import { DevicePage } from './pages/device';
import { SpendsPage } from './pages/spends';
import { AuditPage } from './pages/audit';

const SCREENS = [
  { path: '/keys', label: 'API keys', render: (me: Whoami) => <KeysPage me={me} /> },
  { path: '/agents', label: 'Agents', render: () => <AgentsPage /> },
  { path: '/device', label: 'Device approval', render: () => <DevicePage /> },
  { path: '/spends', label: 'Spends', render: () => <SpendsPage /> },
  { path: '/audit', label: 'Audit log', render: () => <AuditPage /> },
] as const;

function currentScreen(): string {
  const rest = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length).replace(/\/$/, '') : '';
  return SCREENS.some((s) => s.path === rest) ? rest : '/keys';
}

export function App() {
  const [screen, setScreen] = useState(currentScreen);
  const [me, setMe] = useState<Whoami | null>(null);
  const [checking, setChecking] = useState(() => session.key() !== null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    const onPop = () => setScreen(currentScreen());
    const onSignedOut = (event: Event) => {
      setMe(null);
      setError((event as CustomEvent).detail);
    };
    addEventListener('popstate', onPop);
    addEventListener(SIGNED_OUT_EVENT, onSignedOut);
    return () => {
      removeEventListener('popstate', onPop);
      removeEventListener(SIGNED_OUT_EVENT, onSignedOut);
    };
  }, []);

  useEffect(() => {
    if (!session.key()) return;
    api<Whoami>('GET', '/v1/whoami').then(
      (who) => (setMe(who), setChecking(false)),
      (e) => (session.signOut(), setError(e), setChecking(false)), // a 401 has signed out already
    );
  }, []);

  useEffect(() => {
    const label = SCREENS.find((s) => s.path === screen)?.label ?? 'Dashboard';
    document.title = `${label} · Keyledger`;
  }, [screen]);

  if (checking) return <p class="loading">Checking your key…</p>;
  if (!me) return <SignIn initialError={error} onSignedIn={setMe} />;

  const signOut = () => {
    session.signOut();
    setMe(null);
    setError(null);
  };
  return (
    <>
      <header class="top">
        <div class="brand">
          <strong>Keyledger</strong>
          <span class="org" data-testid="org">
            {me.org.name} · <span class={`env env-${me.environment}`}>{me.environment}</span>
          </span>
        </div>
        <nav aria-label="Dashboard">
          <ul>
            {SCREENS.map((s) => (
              <li key={s.path}>
                <a
                  href={`${BASE}${s.path}`}
                  aria-current={s.path === screen ? 'page' : undefined}
                  onClick={(e) => {
                    e.preventDefault();
                    navigate(s.path);
                  }}
                >
                  {s.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <button type="button" class="link" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main id="main">{SCREENS.find((s) => s.path === screen)?.render(me)}</main>
    </>
  );
}

function SignIn({ initialError, onSignedIn }: { initialError: unknown; onSignedIn: (me: Whoami) => void }) {
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(initialError);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const me = await api<Whoami>('GET', '/v1/whoami', undefined, key.trim());
      session.signIn(key.trim());
      onSignedIn(me);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="sign-in">
      <h1>Keyledger dashboard</h1>
      <form onSubmit={submit}>
        <label for="org-key">Organization API key</label>
        <input
          id="org-key"
          name="api_key"
          type="password"
          autoComplete="off"
          spellcheck={false}
          required
          placeholder="kl_live_…"
          value={key}
          onInput={(e) => setKey((e.target as HTMLInputElement).value)}
        />
        <p class="hint">The key stays in this browser tab only (session storage) and is sent to this gateway alone.</p>
        <ErrorText error={error} />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
