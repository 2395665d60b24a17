import { useEffect, useState } from 'react';
import { SignInForm, useToken } from '../lib/session';
import { Loading } from '../lib/ui';
import { CustomerPage } from './CustomerPage';
import { Customers } from './Customers';
import { LiveProvider } from './live';
import { Overview } from './Overview';
import { Parked } from './Parked';

/** `#/`, `#/customers`, `#/customers/<id>`, `#/webhooks`: hash routes, so the gateway serves one HTML file. */
function useRoute(): string[] {
  const read = () => location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => setRoute(read());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

export function App() {
  const { token, signIn, signOut, notice } = useToken('dashboard');
  const route = useRoute();

  // Move focus to the page heading on navigation, so keyboard and screen-reader users land on the new content.
  useEffect(() => {
    document.querySelector<HTMLElement>('main h1')?.focus();
  }, [route.join('/')]);

  if (token === undefined) return <main><Loading label="Signing in…" /></main>;
  if (token === null) {
    return (
      <SignInForm
        title="Operator dashboard"
        hint={<>Paste an admin token (a JWT with <code>role: "admin"</code>; <code>npx billing-gateway token --sub you --role admin</code> mints one in development).</>}
        notice={notice}
        onSignIn={signIn}
      />
    );
  }
  const onAuthError = (e: Error) => signOut(`Signed out: ${e.message}`);
  const [section = '', id] = route;
  const nav = [
    ['', 'Overview'],
    ['customers', 'Customers'],
    ['webhooks', 'Parked webhooks'],
  ] as const;
  return (
    <LiveProvider token={token}>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">billing-gateway</span>
        <nav aria-label="Dashboard">
          {nav.map(([path, label]) => (
            <a key={path} href={`#/${path}`} aria-current={section === path ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <button type="button" onClick={() => signOut()}>
          Sign out
        </button>
      </header>
      <main id="main">
        {section === 'customers' && id ? (
          <CustomerPage token={token} id={id} onAuthError={onAuthError} />
        ) : section === 'customers' ? (
          <Customers token={token} onAuthError={onAuthError} />
        ) : section === 'webhooks' ? (
          <Parked token={token} onAuthError={onAuthError} />
        ) : (
          <Overview token={token} onAuthError={onAuthError} />
        )}
      </main>
    </LiveProvider>
  );
}
