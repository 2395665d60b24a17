import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import '../lib/theme.css';
import { SignInForm, useToken } from '../lib/session';
import { Loading } from '../lib/ui';
import { Billing } from './Billing';

function App() {
  const { token, signIn, signOut, notice } = useToken('billing');
  if (token === undefined) return <main><Loading label="Signing in…" /></main>;
  if (token === null) {
    return <SignInForm title="Billing" hint="Paste the access token your account gave you." notice={notice} onSignIn={signIn} />;
  }
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Billing</span>
        <span className="spacer" />
        <button type="button" onClick={() => signOut()}>
          Sign out
        </button>
      </header>
      <main id="main">
        <h1>Billing</h1>
        <Billing token={token} onAuthError={(e) => signOut(`Signed out: ${e.message}`)} />
      </main>
    </>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
