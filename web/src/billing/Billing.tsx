import { useState } from 'react';
import type { BillingPageQuery, BillingUpcomingQuery } from '../gql/graphql';
import { newIdempotencyKey, present, request, type ApiError } from '../lib/api';
import { Card, ErrorBox, InvoicesAndUsage, Loading, StatusBadge, formatDate, useQuery } from '../lib/ui';
import { ApiKeys } from './ApiKeys';
import { BillingQuery, CancelMutation, ChangePlanMutation, PortalMutation, ResumeMutation, SubscribeMutation, UpcomingQuery } from './queries';

type Page = BillingPageQuery;
type Sub = NonNullable<Page['customer']>['subscriptions'][number];
type Preview = NonNullable<BillingUpcomingQuery['upcomingInvoice']>;

/** Where the page itself lives, for the portal's and Checkout's return links. */
const here = () => location.origin + location.pathname;

export function Billing({ token, onAuthError }: { token: string; onAuthError: (e: ApiError) => void }) {
  const { result, reload } = useQuery(() => request(token, BillingQuery), [token], onAuthError);
  if (result.state === 'loading') return <Loading lines={12} />;
  if (result.state === 'error') return <ErrorBox error={result.error} retry={reload} />;
  const { plans, customer } = result.data;
  const sub = customer?.subscriptions[0] ?? null;
  return (
    <>
      <Card id="plan" title="Your plan" actions={customer && <ManageBilling token={token} />}>
        {sub ? <CurrentPlan sub={sub} token={token} onChanged={reload} /> : <p data-testid="plan-name">No plan yet</p>}
      </Card>
      <Card id="plans" title={sub ? 'Change plan' : 'Choose a plan'}>
        <ChangePlan plans={plans} sub={sub} token={token} onChanged={reload} />
      </Card>
      {customer && (
        <InvoicesAndUsage invoices={customer.invoices.edges.map((e) => e.node)} usage={customer.usage}>
          {sub && customer.usage.some((u) => u.overage > 0) && <OverageSoFar token={token} subscriptionId={sub.id} />}
        </InvoicesAndUsage>
      )}
      {customer && <ApiKeys token={token} onAuthError={onAuthError} />}
    </>
  );
}

function CurrentPlan({ sub, token, onChanged }: { sub: Sub; token: string; onChanged: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const act = async (fn: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await fn();
      onChanged();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div>
      <p style={{ fontSize: '1.3rem', margin: '0.5rem 0' }}>
        <strong data-testid="plan-name">{sub.plan.name}</strong> <StatusBadge value={sub.status} />
      </p>
      <p className="muted">
        {sub.plan.price?.formatted ?? 'Custom price'} per {sub.plan.interval.toLowerCase()}
        {sub.quantity > 1 ? ` × ${sub.quantity} seats` : ''} · current period {formatDate(sub.currentPeriodStart)} – {formatDate(sub.currentPeriodEnd)}
      </p>
      {sub.cancelAtPeriodEnd ? (
        <div className="row">
          <p role="status" data-testid="cancel-notice" style={{ margin: 0 }}>
            Your plan ends on {formatDate(sub.currentPeriodEnd)}.
          </p>
          <button type="button" className="primary" disabled={busy} data-testid="resume" onClick={() => void act(() => request(token, ResumeMutation, { subscriptionId: sub.id, idempotencyKey: newIdempotencyKey('resume') }))}>
            Keep my plan
          </button>
        </div>
      ) : (
        <button
          type="button"
          className="danger"
          disabled={busy}
          data-testid="cancel"
          onClick={() => {
            if (confirm(`Cancel ${sub.plan.name}? It stays active until ${formatDate(sub.currentPeriodEnd)}.`))
              void act(() => request(token, CancelMutation, { input: { subscriptionId: sub.id, atPeriodEnd: true, idempotencyKey: newIdempotencyKey('cancel') } }));
          }}
        >
          Cancel at period end
        </button>
      )}
      {error != null && <ErrorBox error={error} />}
    </div>
  );
}

function ChangePlan({ plans, sub, token, onChanged }: { plans: Page['plans']; sub: Sub | null; token: string; onChanged: () => void }) {
  const [target, setTarget] = useState<string | null>(null);
  const [preview, setPreview] = useState<{ plan: string; invoice: Preview; prorationDate: string | null } | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  const choices = plans.filter((p) => p.selfServe);

  const choose = async (planId: string) => {
    setTarget(planId);
    setPreview(null);
    setError(null);
    setDone(null);
    if (!sub) return;
    setBusy(true);
    try {
      const { upcomingInvoice } = await request(token, UpcomingQuery, { subscriptionId: sub.id, plan: planId });
      if (!upcomingInvoice) throw new Error('No preview is available for this change.');
      // Bill exactly what was previewed: the change is prorated as of the preview's proration instant.
      const prorationDate = upcomingInvoice.lines.find((l) => l.proration)?.periodStart ?? null;
      setPreview({ plan: planId, invoice: upcomingInvoice, prorationDate });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const confirmChange = async () => {
    if (!target) return;
    setBusy(true);
    setError(null);
    try {
      if (sub) {
        await request(token, ChangePlanMutation, {
          input: { subscriptionId: sub.id, plan: target, idempotencyKey: newIdempotencyKey('change'), ...(preview?.prorationDate ? { prorationDate: preview.prorationDate } : {}) },
        });
        setDone(`You are now on ${plans.find((p) => p.id === target)?.name ?? target}.`);
        setTarget(null);
        setPreview(null);
        onChanged();
      } else {
        const subscribe = present((await request(token, SubscribeMutation, { input: { plan: target, idempotencyKey: newIdempotencyKey('subscribe'), successUrl: here(), cancelUrl: here() } })).subscribe, 'subscribe');
        if (subscribe.checkoutUrl) location.assign(subscribe.checkoutUrl);
        else onChanged();
      }
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <div className="plans">
        {choices.map((p) => {
          const current = sub?.plan.id === p.id;
          return (
            <div key={p.id} className={`plan-option${current ? ' current' : ''}`}>
              <strong>{p.name}</strong>
              <div>{p.price?.formatted ?? 'Custom'} / {p.interval.toLowerCase()}</div>
              <ul className="muted" style={{ paddingLeft: '1.1rem' }}>
                {p.features.map((f) => (
                  <li key={f}>{f}</li>
                ))}
                {p.meters.map((m) => (
                  <li key={m.meter}>
                    {m.included.toLocaleString()} {m.meter} included
                  </li>
                ))}
              </ul>
              <button
                type="button"
                aria-pressed={target === p.id}
                disabled={current || busy}
                data-testid={`choose-${p.id}`}
                onClick={() => void choose(p.id)}
              >
                {current ? 'Current plan' : `Choose ${p.name}`}
              </button>
            </div>
          );
        })}
      </div>
      {busy && !preview && <Loading label="Preparing the preview…" lines={2} />}
      {preview && (
        <div className="preview" data-testid="proration-preview" aria-live="polite">
          <h3 style={{ marginTop: 0 }}>Before you confirm</h3>
          <table>
            <caption className="visually-hidden">Invoice preview</caption>
            <tbody>
              {preview.invoice.lines.map((l, i) => (
                <tr key={i}>
                  <td>{l.description ?? (l.proration ? 'Proration' : 'Plan')}</td>
                  <td className="num">{l.amount.formatted}</td>
                </tr>
              ))}
              <tr>
                <th scope="row">Total</th>
                <td className="num" data-testid="preview-total">
                  <strong>{preview.invoice.total.formatted}</strong>
                </td>
              </tr>
              <tr>
                <th scope="row">Due {preview.prorationDate ? 'now' : `on ${formatDate(preview.invoice.periodEnd)}`}</th>
                <td className="num" data-testid="preview-amount-due">
                  {preview.invoice.amountDue.formatted}
                </td>
              </tr>
            </tbody>
          </table>
          <div className="row" style={{ marginTop: '0.75rem' }}>
            <button type="button" className="primary" disabled={busy} data-testid="confirm-change" onClick={() => void confirmChange()}>
              Confirm change
            </button>
            <button type="button" disabled={busy} onClick={() => (setPreview(null), setTarget(null))}>
              Keep current plan
            </button>
          </div>
        </div>
      )}
      {!sub && target && (
        <div className="row" style={{ marginTop: '0.75rem' }}>
          <button type="button" className="primary" disabled={busy} data-testid="confirm-change" onClick={() => void confirmChange()}>
            Continue to payment
          </button>
        </div>
      )}
      {done && (
        <p role="status" data-testid="change-done">
          {done}
        </p>
      )}
      {error != null && <ErrorBox error={error} />}
    </>
  );
}

/** Overage so far is what the next invoice would bill for usage: the API's preview, never a sum done here. */
function OverageSoFar({ token, subscriptionId }: { token: string; subscriptionId: string }) {
  const { result } = useQuery(() => request(token, UpcomingQuery, { subscriptionId }), [token, subscriptionId]);
  if (result.state === 'loading') return <Loading lines={1} />;
  if (result.state === 'error' || !result.data.upcomingInvoice) return null;
  const inv = result.data.upcomingInvoice;
  return (
    <p data-testid="overage-so-far">
      Next invoice so far, usage included: <strong>{inv.amountDue.formatted}</strong> on {formatDate(inv.periodEnd)}.
    </p>
  );
}

function ManageBilling({ token }: { token: string }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const open = async () => {
    setBusy(true);
    setError(null);
    try {
      const createPortalSession = present((await request(token, PortalMutation, { input: { returnUrl: here() } })).createPortalSession, 'createPortalSession');
      location.assign(createPortalSession.url);
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" className="primary" data-testid="manage-billing" disabled={busy} onClick={() => void open()}>
        {busy ? 'Opening…' : 'Manage billing'}
      </button>
      {error != null && <ErrorBox error={error} />}
    </>
  );
}
