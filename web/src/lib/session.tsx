import { useCallback, useEffect, useState, type FormEvent, type ReactNode } from 'react';

export type PageKind = 'dashboard' | 'billing';

interface PageSession {
  graphiql: boolean;
  adminToken: string | null;
  customerToken: string | null;
}

// sessionStorage only: the token ends with the browser tab, and is never sent anywhere but /graphql.
const tokenKey = (kind: PageKind) => `billing-gateway.${kind}.token`;
const signedOutKey = (kind: PageKind) => `billing-gateway.${kind}.signed-out`;

/**
 * The page's token: from `#token=…` (a product linking to the page; a fragment never reaches a
 * server log), then sessionStorage, then, in sandbox development only, the gateway's dev token.
 */
export function useToken(kind: PageKind) {
  const [token, setToken] = useState<string | null | undefined>(undefined);
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
    if (fromHash) {
      sessionStorage.setItem(tokenKey(kind), fromHash);
      sessionStorage.removeItem(signedOutKey(kind));
      history.replaceState(null, '', location.pathname + location.search);
    }
    const stored = sessionStorage.getItem(tokenKey(kind));
    if (stored) return setToken(stored);
    if (sessionStorage.getItem(signedOutKey(kind))) return setToken(null);
    let cancelled = false;
    fetch('/web/session.json')
      .then((r) => (r.ok ? (r.json() as Promise<PageSession>) : null))
      .catch(() => null)
      .then((s) => {
        if (cancelled) return;
        const dev = kind === 'dashboard' ? s?.adminToken : s?.customerToken;
        if (dev) sessionStorage.setItem(tokenKey(kind), dev);
        setToken(dev ?? null);
      });
    return () => {
      cancelled = true;
    };
  }, [kind]);

  const signIn = useCallback(
    (t: string) => {
      sessionStorage.setItem(tokenKey(kind), t);
      sessionStorage.removeItem(signedOutKey(kind));
      setNotice(null);
      setToken(t);
    },
    [kind],
  );
  const signOut = useCallback(
    (reason?: string) => {
      sessionStorage.removeItem(tokenKey(kind));
      sessionStorage.setItem(signedOutKey(kind), '1');
      setNotice(reason ?? null);
      setToken(null);
    },
    [kind],
  );
  return { token, signIn, signOut, notice };
}

export function SignInForm({ title, hint, notice, onSignIn }: { title: string; hint: ReactNode; notice: string | null; onSignIn: (token: string) => void }) {
  const [value, setValue] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const t = value.trim().replace(/^Bearer\s+/i, '');
    if (t) onSignIn(t);
  };
  return (
    <main className="signin" id="main">
      <h1>{title}</h1>
      <form onSubmit={submit} className="card">
        <label htmlFor="token">Access token</label>
        <p className="muted" id="token-hint">
          {hint}
        </p>
        <input
          id="token"
          data-testid="token-input"
          type="password"
          autoComplete="off"
          spellCheck={false}
          aria-describedby="token-hint"
          value={value}
          onChange={(e) => setValue(e.target.value)}
          required
        />
        {notice && (
          <p className="error" role="alert">
            {notice}
          </p>
        )}
        <button type="submit" data-testid="sign-in" className="primary">
          Sign in
        </button>
      </form>
    </main>
  );
}
