import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { ApiKeyFieldsFragment } from '../gql/graphql';
import { newIdempotencyKey, request, type ApiError } from '../lib/api';
import { ApiKeyTable, Card, Empty, ErrorBox, Loading, apiKeyState, useQuery } from '../lib/ui';
import { ApiKeysQuery, CreateApiKeyMutation, RevokeApiKeyMutation, RollApiKeyMutation } from './queries';

type Key = ApiKeyFieldsFragment;
type Shown = { secret: string; name: string; rolled: boolean };

/** The customer's API keys: create and roll show the secret once; revoke asks first. */
export function ApiKeys({ token, onAuthError }: { token: string; onAuthError: (e: ApiError) => void }) {
  const { result, reload } = useQuery(() => request(token, ApiKeysQuery).then((d) => d.customer?.apiKeys ?? []), [token], onAuthError);
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [shown, setShown] = useState<Shown | null>(null);

  const act = async (fn: () => Promise<Shown | null>) => {
    setBusy(true);
    setError(null);
    try {
      const next = await fn();
      if (next) setShown(next);
      reload();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const create = (e: FormEvent) => {
    e.preventDefault();
    const trimmed = name.trim();
    if (!trimmed) return;
    void act(async () => {
      const { createApiKey } = await request(token, CreateApiKeyMutation, { input: { name: trimmed, idempotencyKey: newIdempotencyKey('key') } });
      if (!createApiKey) throw new Error('The key was not created.');
      setName('');
      return { secret: createApiKey.secret, name: createApiKey.apiKey.name, rolled: false };
    });
  };

  const roll = (k: Key) =>
    void act(async () => {
      const { rollApiKey } = await request(token, RollApiKeyMutation, { id: k.id, idempotencyKey: newIdempotencyKey('roll') });
      if (!rollApiKey) throw new Error('The key was not rolled.');
      return { secret: rollApiKey.secret, name: rollApiKey.apiKey.name, rolled: true };
    });

  const revoke = (k: Key) => {
    if (!confirm(`Revoke the key "${k.name}" (${k.prefix}…)? Requests using it are refused at once; this cannot be undone.`)) return;
    void act(async () => {
      await request(token, RevokeApiKeyMutation, { id: k.id });
      return null;
    });
  };

  return (
    <Card id="keys" title="API keys">
      <form className="row" onSubmit={create} aria-label="Create an API key">
        <label htmlFor="key-name">Name</label>
        <input id="key-name" data-testid="api-key-name" value={name} maxLength={100} placeholder="e.g. Production server" onChange={(e) => setName(e.target.value)} required />
        <button type="submit" className="primary" data-testid="create-api-key" disabled={busy || !name.trim()}>
          {busy ? 'Working…' : 'Create key'}
        </button>
      </form>
      {shown && <SecretOnce shown={shown} onDone={() => setShown(null)} />}
      {error != null && <ErrorBox error={error} />}
      {result.state === 'loading' && <Loading label="Loading API keys…" lines={3} />}
      {result.state === 'error' && <ErrorBox error={result.error} retry={reload} />}
      {result.state === 'ok' && (result.data.length === 0 ? <Empty>No API keys yet.</Empty> : <KeyTable keys={result.data} busy={busy} onRoll={roll} onRevoke={revoke} />)}
    </Card>
  );
}

/** The whole secret, once: it is never fetched again, so it lives only in this component's state. */
function SecretOnce({ shown, onDone }: { shown: Shown; onDone: () => void }) {
  const box = useRef<HTMLDivElement>(null);
  const code = useRef<HTMLElement>(null);
  const [copied, setCopied] = useState<'yes' | 'no' | null>(null);
  useEffect(() => {
    setCopied(null);
    box.current?.focus();
  }, [shown.secret]);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(shown.secret);
      setCopied('yes');
    } catch {
      // No clipboard permission: select the text so Ctrl+C copies it.
      const range = document.createRange();
      if (code.current) range.selectNodeContents(code.current);
      getSelection()?.removeAllRanges();
      getSelection()?.addRange(range);
      setCopied('no');
    }
  };
  return (
    <div className="secret-once" ref={box} tabIndex={-1} role="region" aria-labelledby="secret-heading" data-testid="api-key-secret-box">
      <h3 id="secret-heading" style={{ marginTop: 0 }}>
        {shown.rolled ? `New secret for "${shown.name}"` : `Your new key "${shown.name}"`}
      </h3>
      <p>
        <strong>Shown once.</strong> Copy it now and keep it somewhere safe: it cannot be shown again
        {shown.rolled ? ', and the old secret has stopped working.' : '.'}
      </p>
      <div className="row">
        <code ref={code} className="secret" data-testid="api-key-secret">
          {shown.secret}
        </code>
        <button type="button" data-testid="copy-secret" onClick={() => void copy()}>
          Copy<span className="visually-hidden"> the secret</span>
        </button>
        <button type="button" data-testid="secret-done" onClick={onDone}>
          I have copied it
        </button>
      </div>
      <p role="status" className="muted" style={{ margin: '0.4rem 0 0', minHeight: '1.5em' }}>
        {copied === 'yes' ? 'Copied to the clipboard.' : copied === 'no' ? 'Selected: press Ctrl+C (⌘C) to copy.' : ''}
      </p>
    </div>
  );
}

function KeyTable({ keys, busy, onRoll, onRevoke }: { keys: Key[]; busy: boolean; onRoll: (k: Key) => void; onRevoke: (k: Key) => void }) {
  return (
    <ApiKeyTable
      keys={keys}
      rowTestId="api-key-row"
      extra={{
        header: <span className="visually-hidden">Actions</span>,
        cell: (k) =>
          apiKeyState(k) === 'ACTIVE' && (
            <div className="row" style={{ flexWrap: 'nowrap' }}>
              <button type="button" disabled={busy} data-testid="roll-api-key" onClick={() => onRoll(k)}>
                Roll<span className="visually-hidden"> {k.name}</span>
              </button>
              <button type="button" className="danger" disabled={busy} data-testid="revoke-api-key" onClick={() => onRevoke(k)}>
                Revoke<span className="visually-hidden"> {k.name}</span>
              </button>
            </div>
          ),
      }}
    />
  );
}
