import { useState } from 'react';
import { present, request, type ApiError } from '../lib/api';
import { Empty, ErrorBox, Loading, Table, formatDate, formatTime, useQuery } from '../lib/ui';
import { ParkedQuery, RetryParkedMutation } from './queries';

/** Webhook events parked after repeated failures; "Retry" queues one for processing again. */
export function Parked({ token, onAuthError }: { token: string; onAuthError: (e: ApiError) => void }) {
  const { result, reload } = useQuery(() => request(token, ParkedQuery).then((d) => present(d.parkedWebhookEvents, 'parkedWebhookEvents')), [token], onAuthError);
  const [status, setStatus] = useState<Record<string, string>>({});
  const retry = async (id: string) => {
    setStatus((s) => ({ ...s, [id]: 'Queuing…' }));
    try {
      const { retryParkedWebhookEvent } = await request(token, RetryParkedMutation, { id });
      setStatus((s) => ({ ...s, [id]: retryParkedWebhookEvent ? 'Queued for processing' : 'Not parked any more' }));
      reload();
    } catch (e) {
      setStatus((s) => ({ ...s, [id]: `Failed: ${(e as Error).message}` }));
    }
  };
  return (
    <>
      <h1 tabIndex={-1}>Parked webhooks</h1>
      <section className="card">
        <div className="row">
          <p className="muted" style={{ margin: 0 }}>
            Events that failed processing repeatedly are parked with their reason; the pipeline goes on without them.
          </p>
          <span className="spacer" />
          <button type="button" onClick={reload}>
            Refresh
          </button>
        </div>
        {result.state === 'loading' && <Loading lines={4} />}
        {result.state === 'error' && <ErrorBox error={result.error} retry={reload} />}
        {result.state === 'ok' && result.data.length === 0 && <Empty>No parked events: every webhook was processed.</Empty>}
        {result.state === 'ok' && result.data.length > 0 && (
          <Table columns={['Event', 'Object', { label: 'Attempts', num: true }, 'Last error', 'Received', <span className="visually-hidden">Action</span>]}>
            {result.data.map((e) => (
              <tr key={e.id} data-testid="parked-row">
                <td>
                  <code>{e.type}</code>
                  <div className="muted mono">{e.id}</div>
                </td>
                <td className="mono">{e.objectId ?? '—'}</td>
                <td className="num">{e.attempts}</td>
                <td>{e.lastError ?? '—'}</td>
                <td>
                  {formatDate(e.receivedAt)} {formatTime(e.receivedAt)}
                </td>
                <td>
                  <button type="button" onClick={() => void retry(e.id)} aria-describedby={`st-${e.id}`}>
                    Retry<span className="visually-hidden"> {e.id}</span>
                  </button>
                  <div id={`st-${e.id}`} role="status" className="muted">
                    {status[e.id] ?? ''}
                  </div>
                </td>
              </tr>
            ))}
          </Table>
        )}
      </section>
    </>
  );
}
